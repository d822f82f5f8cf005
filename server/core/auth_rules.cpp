// Auth rules, power levels and membership transitions (room versions 1 to 11). Two rules of the old
// versions are left out on purpose, so every version is at least as strict as v11 (README
// "Conformance"): power levels given as strings of digits (v1-v9) are refused, and m.room.aliases
// (v1-v5) needs its power level like any state event, not only the sender's server in the state key.
#include "server/core/auth_rules.hpp"

#include <cstdint>

#include "server/core/identifiers.hpp"

namespace lotse::core {
namespace {

std::optional<std::int64_t> as_level(const boost::json::value* v) {
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  // Beyond INT64_MAX a cast would wrap (2^64-1 would count as -1, letting everyone act while clients
  // show a huge level); such a number is no valid level (tests/fuzz/auth_rules_fuzz.cpp checks it).
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->get_uint64());
  return std::nullopt;  // v10+: only integers count as power levels
}

std::string_view str_field(const boost::json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

bool changed(const boost::json::value* a, const boost::json::value* b) {
  if (!a && !b) return false;
  if (!a || !b) return true;
  return *a != *b;
}

}  // namespace

std::string membership_of(const StateLookup& state, std::string_view user_id) {
  if (auto* c = state("m.room.member", user_id)) {
    auto m = str_field(*c, "membership");
    if (!m.empty()) return std::string(m);
  }
  return "leave";
}

std::int64_t user_power_level(const StateLookup& state, std::string_view user_id, RoomVersion,
                              std::string_view creator) {
  auto* pl = state("m.room.power_levels", "");
  if (!pl) return user_id == creator ? 100 : 0;
  if (auto* users = pl->if_contains("users"); users && users->is_object())
    if (auto lvl = as_level(users->get_object().if_contains(user_id))) return *lvl;
  return as_level(pl->if_contains("users_default")).value_or(0);
}

std::int64_t event_power_level(const StateLookup& state, std::string_view type, bool is_state) {
  auto* pl = state("m.room.power_levels", "");
  if (!pl) return 0;
  if (auto* events = pl->if_contains("events"); events && events->is_object())
    if (auto lvl = as_level(events->get_object().if_contains(type))) return *lvl;
  if (is_state) return as_level(pl->if_contains("state_default")).value_or(50);
  return as_level(pl->if_contains("events_default")).value_or(0);
}

std::int64_t named_power_level(const StateLookup& state, std::string_view name) {
  std::int64_t fallback = name == "invite" ? 0 : 50;
  auto* pl = state("m.room.power_levels", "");
  if (!pl) return fallback;
  return as_level(pl->if_contains(name)).value_or(fallback);
}

namespace {

std::optional<std::string> check_member(const boost::json::object& event, const StateLookup& state,
                                        RoomVersion version, std::string_view creator) {
  auto* sk = event.if_contains("state_key");
  const auto& content = event.at("content").get_object();
  auto membership = str_field(content, "membership");
  if (!sk || !sk->is_string() || membership.empty()) return "membership event without state_key or membership";
  std::string_view target = sk->get_string();
  std::string_view sender = event.at("sender").get_string();
  if (!is_valid_user_id(target)) return "state_key of a membership event must be a user ID";

  std::string sender_m = membership_of(state, sender);
  std::string target_m = membership_of(state, target);
  std::int64_t sender_pl = user_power_level(state, sender, version, creator);
  std::int64_t target_pl = user_power_level(state, target, version, creator);

  if (membership == "join") {
    // The creator's own join right after m.room.create.
    auto* prev = event.if_contains("prev_events");
    if (prev && prev->is_array() && prev->get_array().size() == 1 && target == creator && sender == creator &&
        !state("m.room.member", creator) && !state("m.room.power_levels", ""))
      return std::nullopt;
    if (sender != target) return "cannot join on behalf of another user";
    if (sender_m == "ban") return "you are banned from this room";
    std::string_view rule = "invite";
    if (auto* jr = state("m.room.join_rules", "")) rule = str_field(*jr, "join_rule");
    if (rule == "invite" || rule == "knock") {
      if (sender_m == "invite" || sender_m == "join") return std::nullopt;
      return "you are not invited to this room";
    }
    if (rule == "public") return std::nullopt;
    if (sender_m == "invite" || sender_m == "join") return std::nullopt;
    return "this room's join rule does not allow you to join";
  }
  if (membership == "invite") {
    if (content.contains("third_party_invite")) return "third-party invites are not supported";
    if (sender_m != "join") return "you must be in the room to invite";
    if (target_m == "ban") return "the user is banned from this room";
    if (target_m == "join") return "the user is already in the room";
    if (sender_pl >= named_power_level(state, "invite")) return std::nullopt;
    return "your power level is too low to invite";
  }
  if (membership == "leave") {
    if (sender == target) {
      if (sender_m == "invite" || sender_m == "join" || sender_m == "knock") return std::nullopt;
      return "you are not in this room";
    }
    if (sender_m != "join") return "you must be in the room to kick or unban";
    if (target_m == "ban" && sender_pl < named_power_level(state, "ban")) return "your power level is too low to unban";
    if (sender_pl >= named_power_level(state, "kick") && target_pl < sender_pl) return std::nullopt;
    return "your power level is too low to kick this user";
  }
  if (membership == "ban") {
    if (sender_m != "join") return "you must be in the room to ban";
    if (sender_pl >= named_power_level(state, "ban") && target_pl < sender_pl) return std::nullopt;
    return "your power level is too low to ban this user";
  }
  if (membership == "knock") {
    if (!allows_knocking(version)) return "this room version has no knocking";
    std::string_view rule = "invite";
    if (auto* jr = state("m.room.join_rules", "")) rule = str_field(*jr, "join_rule");
    if (rule != "knock") return "this room does not allow knocking";
    if (sender != target) return "cannot knock on behalf of another user";
    if (sender_m == "ban" || sender_m == "join") return "cannot knock from the current membership";
    return std::nullopt;
  }
  return "unknown membership";
}

std::optional<std::string> check_power_levels(const boost::json::object& event, const StateLookup& state,
                                              RoomVersion version, std::string_view creator) {
  const auto& content = event.at("content").get_object();
  std::string_view sender = event.at("sender").get_string();
  static constexpr std::string_view kLevels[] = {"users_default", "events_default", "state_default", "ban",
                                                 "redact",        "kick",           "invite"};
  for (auto key : kLevels)
    if (auto* v = content.if_contains(key); v && !as_level(v)) return std::string(key) + " must be an integer";
  for (auto key : {"events", "users", "notifications"}) {
    auto* v = content.if_contains(key);
    if (!v) continue;
    if (!v->is_object()) return std::string(key) + " must be an object";
    for (const auto& kv : v->get_object()) {
      if (!as_level(&kv.value())) return std::string(key) + " values must be integers";
      if (std::string_view(key) == "users" && !is_valid_user_id(kv.key())) return "users keys must be user IDs";
    }
  }
  auto* old = state("m.room.power_levels", "");
  if (!old) return std::nullopt;
  std::int64_t sender_pl = user_power_level(state, sender, version, creator);
  auto too_high = [&](const boost::json::value* before, const boost::json::value* after) {
    return (before && as_level(before).value_or(0) > sender_pl) || (after && as_level(after).value_or(0) > sender_pl);
  };
  for (auto key : kLevels) {
    auto* before = old->if_contains(key);
    auto* after = content.if_contains(key);
    if (changed(before, after) && too_high(before, after))
      return "cannot change " + std::string(key) + " beyond your own power level";
  }
  for (auto key : {"events", "notifications"}) {
    boost::json::object empty;
    auto* bo = old->if_contains(key);
    auto* ao = content.if_contains(key);
    const auto& b = bo && bo->is_object() ? bo->get_object() : empty;
    const auto& a = ao && ao->is_object() ? ao->get_object() : empty;
    for (const auto* side : {&b, &a})
      for (const auto& kv : *side) {
        auto* before = b.if_contains(kv.key());
        auto* after = a.if_contains(kv.key());
        if (changed(before, after) && too_high(before, after))
          return "cannot change the level of " + std::string(kv.key()) + " beyond your own power level";
      }
  }
  boost::json::object empty;
  auto* bu = old->if_contains("users");
  auto* au = content.if_contains("users");
  const auto& b = bu && bu->is_object() ? bu->get_object() : empty;
  const auto& a = au && au->is_object() ? au->get_object() : empty;
  for (const auto* side : {&b, &a})
    for (const auto& kv : *side) {
      auto* before = b.if_contains(kv.key());
      auto* after = a.if_contains(kv.key());
      if (!changed(before, after)) continue;
      if (kv.key() != sender && before && as_level(before).value_or(0) >= sender_pl)
        return "cannot change the power level of a user at or above your own level";
      if (too_high(before, after)) return "cannot give a power level above your own";
    }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> check_auth_rules(const boost::json::object& event, const StateLookup& state,
                                            RoomVersion version, std::string_view creator) {
  std::string_view type = event.at("type").get_string();
  std::string_view sender = event.at("sender").get_string();
  auto* sk = event.if_contains("state_key");
  bool is_state = sk && sk->is_string();

  if (type == "m.room.create") {
    auto* prev = event.if_contains("prev_events");
    if (prev && prev->is_array() && !prev->get_array().empty()) return "m.room.create must be the first event";
    if (state("m.room.create", "")) return "the room already exists";
    if (server_part(event.at("room_id").get_string()) != server_part(sender))
      return "room ID and sender must be on the same server";
    const auto& content = event.at("content").get_object();
    if (create_has_creator(version) && !content.contains("creator")) return "m.room.create needs a creator";
    return std::nullopt;
  }
  if (!state("m.room.create", "")) return "the room has no create event";
  if (type == "m.room.member") return check_member(event, state, version, creator);
  if (membership_of(state, sender) != "join") return "you are not joined to this room";
  std::int64_t sender_pl = user_power_level(state, sender, version, creator);
  if (event_power_level(state, type, is_state) > sender_pl)
    return "your power level is too low to send " + std::string(type) + " events";
  if (is_state && !sk->get_string().empty() && sk->get_string().front() == '@' && sk->get_string() != sender)
    return "state keys starting with @ are reserved for that user";
  if (type == "m.room.power_levels") return check_power_levels(event, state, version, creator);
  return std::nullopt;
}

}  // namespace lotse::core
