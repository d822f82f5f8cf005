// Event auth rules over a fuzzed room. The input is JSON:
//   {"version": "1".."11", "creator": "@a:hs",
//    "state": [{"type": ..., "state_key": ..., "content": {...}}, ...],   // the current state, as is
//    "event": {"type", "sender", "room_id", "content", "state_key"?, "prev_events"?}}
// check_auth_rules must never crash, must answer the same twice, and what it allows must respect the
// spec's rules re-stated independently below. Its preconditions, which the server's event builder
// guarantees (rooms.cpp), are kept: type, sender and room_id are strings and content is an object.
#include <map>
#include <string>

#include "fuzz_check.hpp"
#include "server/core/auth_rules.hpp"

using namespace lotse::core;
namespace json = boost::json;

namespace {

std::optional<std::int64_t> level(const json::value* v) {
  if (!v) return std::nullopt;
  if (auto* i = v->if_int64()) return *i;
  if (auto* u = v->if_uint64(); u && *u <= static_cast<std::uint64_t>(INT64_MAX)) return static_cast<std::int64_t>(*u);
  return std::nullopt;  // a wrapped uint64 must not count as a level
}

std::string_view str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  boost::system::error_code ec;
  json::value input = json::parse(std::string_view(reinterpret_cast<const char*>(data), size), ec);
  if (ec || !input.is_object()) return 0;
  const auto& in = input.get_object();

  RoomVersion version = RoomVersion::v11;
  parse_room_version(str(in, "version"), version);
  std::string creator(str(in, "creator"));
  std::map<std::pair<std::string, std::string>, json::object> state;
  if (auto* s = in.if_contains("state"); s && s->is_array())
    for (const auto& e : s->get_array()) {
      if (!e.is_object()) continue;
      const auto& o = e.get_object();
      auto* content = o.if_contains("content");
      if (!content || !content->is_object()) continue;
      state[{std::string(str(o, "type")), std::string(str(o, "state_key"))}] = content->get_object();
    }
  StateLookup lookup = [&state](std::string_view t, std::string_view k) -> const json::object* {
    auto it = state.find({std::string(t), std::string(k)});
    return it == state.end() ? nullptr : &it->second;
  };

  auto* ev = in.if_contains("event");
  if (!ev || !ev->is_object()) return 0;
  const auto& event = ev->get_object();
  for (auto key : {"type", "sender", "room_id"})
    if (auto* v = event.if_contains(key); !v || !v->is_string()) return 0;
  if (auto* c = event.if_contains("content"); !c || !c->is_object()) return 0;

  auto verdict = check_auth_rules(event, lookup, version, creator);
  FUZZ_CHECK(verdict == check_auth_rules(event, lookup, version, creator), "auth rules are not deterministic");
  if (verdict) {
    FUZZ_CHECK(!verdict->empty(), "a rejection needs a reason");
    return 0;
  }

  // Allowed: the spec's rules, re-stated.
  std::string_view type = event.at("type").get_string();
  std::string_view sender = event.at("sender").get_string();
  const auto& content = event.at("content").get_object();
  auto* sk = event.if_contains("state_key");
  bool is_state = sk && sk->is_string();
  if (type == "m.room.create") {
    FUZZ_CHECK(!lookup("m.room.create", ""), "a second m.room.create was allowed");
    return 0;
  }
  FUZZ_CHECK(lookup("m.room.create", ""), "an event before m.room.create was allowed");
  std::int64_t sender_pl = user_power_level(lookup, sender, version, creator);
  std::string sender_m = membership_of(lookup, sender);
  if (type == "m.room.member") {
    FUZZ_CHECK(is_state, "a membership event without a state key was allowed");
    std::string_view target = sk->get_string();
    std::string_view membership = str(content, "membership");
    std::int64_t target_pl = user_power_level(lookup, target, version, creator);
    if (membership == "ban") {
      FUZZ_CHECK(sender_m == "join", "a ban by a non-member was allowed");
      FUZZ_CHECK(sender_pl >= named_power_level(lookup, "ban") && target_pl < sender_pl, "a ban without the power");
    } else if (membership == "invite") {
      FUZZ_CHECK(sender_m == "join" && sender_pl >= named_power_level(lookup, "invite"), "an invite without the power");
      FUZZ_CHECK(membership_of(lookup, target) != "ban", "an invite of a banned user was allowed");
    } else if (membership == "join") {
      bool creator_first_join = sender == creator && target == creator && !lookup("m.room.member", creator) &&
                                !lookup("m.room.power_levels", "");
      FUZZ_CHECK(creator_first_join || sender == target, "a join on behalf of someone else was allowed");
      FUZZ_CHECK(creator_first_join || sender_m != "ban", "a banned user's join was allowed");
    } else if (membership == "leave" && sender != target) {
      FUZZ_CHECK(sender_m == "join", "a kick by a non-member was allowed");
      FUZZ_CHECK(membership_of(lookup, target) == "ban" ? sender_pl >= named_power_level(lookup, "ban")
                                                         : sender_pl >= named_power_level(lookup, "kick") && target_pl < sender_pl,
                 "a kick or unban without the power");
    } else if (membership == "knock") {
      FUZZ_CHECK(sender == target, "a knock on behalf of someone else was allowed");
    } else {
      FUZZ_CHECK(membership == "leave", "an unknown membership was allowed");
    }
    return 0;
  }
  FUZZ_CHECK(sender_m == "join", "an event from a non-member was allowed");
  FUZZ_CHECK(event_power_level(lookup, type, is_state) <= sender_pl, "an event above the sender's power level was allowed");
  if (is_state && !sk->get_string().empty() && sk->get_string().front() == '@')
    FUZZ_CHECK(sk->get_string() == sender, "another user's @ state key was allowed");
  if (type == "m.room.power_levels") {
    const json::object* old = lookup("m.room.power_levels", "");
    auto* users = content.if_contains("users");
    if (users && users->is_object())
      for (const auto& kv : users->get_object()) {
        FUZZ_CHECK(level(&kv.value()), "a non-integer user level was allowed");
        const json::value* before = nullptr;
        if (old)
          if (auto* ou = old->if_contains("users"); ou && ou->is_object()) before = ou->get_object().if_contains(kv.key());
        if (!old || (before && *before == kv.value())) continue;
        FUZZ_CHECK(*level(&kv.value()) <= sender_pl, "a user level above the sender's own was granted");
        if (kv.key() != sender && before)
          FUZZ_CHECK(level(before).value_or(0) < sender_pl, "the level of a user at or above the sender was changed");
      }
    for (auto key : {"events", "notifications"})
      if (auto* m = content.if_contains(key); m && m->is_object())
        for (const auto& kv : m->get_object()) FUZZ_CHECK(level(&kv.value()), "a non-integer event level was allowed");
    for (auto key : {"users_default", "events_default", "state_default", "ban", "redact", "kick", "invite"}) {
      auto* after = content.if_contains(key);
      FUZZ_CHECK(!after || level(after), "a non-integer level was allowed");
      const json::value* before = old ? old->if_contains(key) : nullptr;
      if (!old || (before && after && *before == *after) || (!before && !after)) continue;
      FUZZ_CHECK(!after || *level(after) <= sender_pl, "a level above the sender's own was set");
      FUZZ_CHECK(!before || level(before).value_or(0) <= sender_pl, "a level above the sender's own was changed");
    }
  }
  return 0;
}
