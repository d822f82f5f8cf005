// Auth rules of room versions 1 to 11 over a hand-built room state.
#include <doctest/doctest.h>

#include <map>

#include "server/core/auth_rules.hpp"

using namespace lotse::core;

namespace {
struct FakeRoom {
  std::map<std::pair<std::string, std::string>, boost::json::object> state;
  StateLookup lookup() {
    return [this](std::string_view t, std::string_view k) -> const boost::json::object* {
      auto it = state.find({std::string(t), std::string(k)});
      return it == state.end() ? nullptr : &it->second;
    };
  }
  void set(const std::string& t, const std::string& k, const char* content) {
    state[{t, k}] = boost::json::parse(content).as_object();
  }
  RoomVersion version = RoomVersion::v11;
  std::optional<std::string> check(const std::string& sender, const std::string& type, const char* content,
                                   std::optional<std::string> state_key = std::nullopt) {
    boost::json::object ev{{"room_id", "!r:hs"}, {"sender", sender}, {"type", type},
                           {"content", boost::json::parse(content)}, {"prev_events", {"$prev"}}};
    if (state_key) ev["state_key"] = *state_key;
    return check_auth_rules(ev, lookup(), version, "@alice:hs");
  }
};

FakeRoom invite_only_room() {
  FakeRoom r;
  r.set("m.room.create", "", R"({"room_version":"11"})");
  r.set("m.room.member", "@alice:hs", R"({"membership":"join"})");
  r.set("m.room.power_levels", "", R"({"users":{"@alice:hs":100,"@mod:hs":50},"state_default":50,"kick":50,"ban":50,"invite":0,"events":{"m.room.name":50}})");
  r.set("m.room.join_rules", "", R"({"join_rule":"invite"})");
  r.set("m.room.member", "@mod:hs", R"({"membership":"join"})");
  return r;
}
}  // namespace

TEST_CASE("joins need an invite in invite-only rooms, and are free in public rooms") {
  auto room = invite_only_room();
  CHECK(room.check("@bob:hs", "m.room.member", R"({"membership":"join"})", "@bob:hs").has_value());
  CHECK(room.check("@alice:hs", "m.room.member", R"({"membership":"join"})", "@bob:hs").has_value());
  room.set("m.room.member", "@bob:hs", R"({"membership":"invite"})");
  CHECK_FALSE(room.check("@bob:hs", "m.room.member", R"({"membership":"join"})", "@bob:hs").has_value());
  room.set("m.room.join_rules", "", R"({"join_rule":"public"})");
  CHECK_FALSE(room.check("@carol:hs", "m.room.member", R"({"membership":"join"})", "@carol:hs").has_value());
  room.set("m.room.member", "@carol:hs", R"({"membership":"ban"})");
  CHECK(room.check("@carol:hs", "m.room.member", R"({"membership":"join"})", "@carol:hs").has_value());
}

TEST_CASE("invites, kicks and bans follow power levels") {
  auto room = invite_only_room();
  CHECK_FALSE(room.check("@mod:hs", "m.room.member", R"({"membership":"invite"})", "@bob:hs").has_value());
  CHECK(room.check("@outsider:hs", "m.room.member", R"({"membership":"invite"})", "@bob:hs").has_value());
  // The moderator (50) cannot kick the admin (100); the admin can kick the moderator.
  CHECK(room.check("@mod:hs", "m.room.member", R"({"membership":"leave"})", "@alice:hs").has_value());
  CHECK_FALSE(room.check("@alice:hs", "m.room.member", R"({"membership":"leave"})", "@mod:hs").has_value());
  CHECK_FALSE(room.check("@alice:hs", "m.room.member", R"({"membership":"ban"})", "@mod:hs").has_value());
  room.set("m.room.member", "@bob:hs", R"({"membership":"join"})");
  CHECK(room.check("@bob:hs", "m.room.member", R"({"membership":"ban"})", "@mod:hs").has_value());
  // Leaving oneself is always possible while joined.
  CHECK_FALSE(room.check("@bob:hs", "m.room.member", R"({"membership":"leave"})", "@bob:hs").has_value());
  // Inviting someone already joined is refused.
  CHECK(room.check("@alice:hs", "m.room.member", R"({"membership":"invite"})", "@bob:hs").has_value());
}

TEST_CASE("events need membership and the required power level") {
  auto room = invite_only_room();
  CHECK(room.check("@bob:hs", "m.room.message", R"({"body":"hi"})").has_value());
  room.set("m.room.member", "@bob:hs", R"({"membership":"join"})");
  CHECK_FALSE(room.check("@bob:hs", "m.room.message", R"({"body":"hi"})").has_value());
  CHECK(room.check("@bob:hs", "m.room.name", R"({"name":"x"})", "").has_value());
  CHECK_FALSE(room.check("@mod:hs", "m.room.name", R"({"name":"x"})", "").has_value());
  CHECK(room.check("@bob:hs", "m.custom", R"({})", "@alice:hs").has_value());
}

TEST_CASE("power level changes cannot exceed the sender's own level") {
  auto room = invite_only_room();
  CHECK(room.check("@mod:hs", "m.room.power_levels", R"({"users":{"@alice:hs":100,"@mod:hs":100}})", "").has_value());
  CHECK(room.check("@mod:hs", "m.room.power_levels", R"({"users":{"@alice:hs":0,"@mod:hs":50}})", "").has_value());
  CHECK_FALSE(room.check("@alice:hs", "m.room.power_levels",
                         R"({"users":{"@alice:hs":100,"@mod:hs":0},"state_default":50,"kick":50,"ban":50,"invite":0,"events":{"m.room.name":50}})", "")
                  .has_value());
  CHECK(room.check("@alice:hs", "m.room.power_levels", R"({"users":{"@alice:hs":"100"}})", "").has_value());
  // 2^64-1 is no level (it must not wrap to -1 and open m.room.power_levels to everyone).
  CHECK(room.check("@alice:hs", "m.room.power_levels",
                   R"({"users":{"@alice:hs":100},"events":{"m.room.power_levels":18446744073709551615}})", "")
            .has_value());
}

TEST_CASE("create event must come first and match the sender's server") {
  FakeRoom empty;
  boost::json::object create{{"room_id", "!r:hs"}, {"sender", "@alice:hs"}, {"type", "m.room.create"},
                             {"state_key", ""}, {"content", {{"room_version", "11"}}}, {"prev_events", boost::json::array{}}};
  CHECK_FALSE(check_auth_rules(create, empty.lookup(), RoomVersion::v11, "@alice:hs").has_value());
  create["sender"] = "@alice:other";
  CHECK(check_auth_rules(create, empty.lookup(), RoomVersion::v11, "@alice:other").has_value());
}

TEST_CASE("the older room versions: knocking from v7 on, a creator in m.room.create up to v10, stricter elsewhere") {
  auto room = invite_only_room();
  room.set("m.room.join_rules", "", R"({"join_rule":"knock"})");
  for (auto [v, allowed] : {std::pair{RoomVersion::v6, false}, {RoomVersion::v7, true}, {RoomVersion::v10, true}}) {
    room.version = v;
    CHECK(room.check("@bob:hs", "m.room.member", R"({"membership":"knock"})", "@bob:hs").has_value() == !allowed);
  }
  boost::json::object create{{"room_id", "!r:hs"}, {"sender", "@alice:hs"}, {"type", "m.room.create"}, {"state_key", ""},
                             {"content", {{"room_version", "1"}}}, {"prev_events", boost::json::array{}}};
  FakeRoom empty;
  for (auto v : {RoomVersion::v1, RoomVersion::v5, RoomVersion::v10})
    CHECK(check_auth_rules(create, empty.lookup(), v, "@alice:hs").has_value());
  create["content"].as_object()["creator"] = "@alice:hs";
  CHECK_FALSE(check_auth_rules(create, empty.lookup(), RoomVersion::v1, "@alice:hs").has_value());
  // v1-v5 let any user of the server named in the state key set m.room.aliases, members or not; here
  // it is a state event like others (an outsider, or a member below state_default, is refused).
  room.version = RoomVersion::v1;
  CHECK(room.check("@outsider:hs", "m.room.aliases", R"({"aliases":["#x:hs"]})", "hs").has_value());
  room.set("m.room.member", "@bob:hs", R"({"membership":"join"})");
  CHECK(room.check("@bob:hs", "m.room.aliases", R"({"aliases":["#x:hs"]})", "hs").has_value());
  CHECK_FALSE(room.check("@mod:hs", "m.room.aliases", R"({"aliases":["#x:hs"]})", "hs").has_value());
  // Power levels as strings of digits (allowed by v1-v9) are refused in every version.
  for (auto v : {RoomVersion::v1, RoomVersion::v9}) {
    room.version = v;
    CHECK(room.check("@alice:hs", "m.room.power_levels", R"({"users":{"@alice:hs":"100"}})", "").has_value());
  }
}
