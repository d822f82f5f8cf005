// Room upgrades; see room_upgrade.hpp for what is copied, moved and restricted.
#include "server/core/room_upgrade.hpp"

#include <algorithm>

#include "server/core/auth_rules.hpp"
#include "server/core/errors.hpp"
#include "server/core/identifiers.hpp"
#include "server/core/stored_json.hpp"

namespace lotse::core {
namespace {

using boost::json::array;
using boost::json::object;
using boost::json::value;

constexpr const char* kCopiedState[] = {"m.room.server_acl",        "m.room.encryption", "m.room.name",
                                        "m.room.avatar",            "m.room.topic",      "m.room.guest_access",
                                        "m.room.history_visibility", "m.room.join_rules"};

std::int64_t int_or(const object& o, std::string_view key, std::int64_t fallback) {
  auto* v = o.if_contains(key);
  return v && v->is_int64() ? v->get_int64() : fallback;
}

// The highest level any entry of a power levels content names: with it the upgrading user can send
// every copied state event and ban.
std::int64_t highest_level(const object& pl) {
  std::int64_t top = 100;
  for (const auto& kv : pl) {
    if (kv.value().is_int64()) top = std::max(top, kv.value().get_int64());
    if (kv.key() == "events" && kv.value().is_object())
      for (const auto& e : kv.value().get_object())
        if (e.value().is_int64()) top = std::max(top, e.value().get_int64());
  }
  return top;
}

object member_content(Accounts& accounts, const std::string& user_id, const char* membership) {
  object content{{"membership", membership}};
  if (auto user = accounts.find_user(user_id)) {
    if (user->displayname) content["displayname"] = *user->displayname;
    if (user->avatar_url) content["avatar_url"] = *user->avatar_url;
  }
  return content;
}

// Replaces the old room ID where a push rule names it: as a room rule's ID, or in an event_match
// condition on room_id (and then in the rule's ID as well).
std::optional<object> rule_for_new_room(const object& rule, const std::string& old_id, const std::string& new_id) {
  auto* id = rule.if_contains("rule_id");
  if (!id || !id->is_string()) return std::nullopt;
  object out = rule;
  bool names_room = id->get_string() == old_id;
  if (auto* conds = out.if_contains("conditions"); conds && conds->is_array())
    for (auto& c : conds->get_array()) {
      if (!c.is_object()) continue;
      auto& co = c.get_object();
      auto* key = co.if_contains("key");
      auto* pattern = co.if_contains("pattern");
      if (key && key->is_string() && key->get_string() == "room_id" && pattern && pattern->is_string() &&
          pattern->get_string() == old_id) {
        co["pattern"] = new_id;
        names_room = true;
      }
    }
  if (!names_room) return std::nullopt;
  std::string rid(id->get_string());
  for (auto at = rid.find(old_id); at != std::string::npos; at = rid.find(old_id, at + new_id.size()))
    rid.replace(at, old_id.size(), new_id);
  if (rid == id->get_string()) rid += "." + new_id;  // an ID of its own, beside the old room's rule
  out["rule_id"] = rid;
  return out;
}

// A member's own settings for the old room, copied for the new one: tags, the m.direct entry, push rules.
void copy_user_settings(const RoomUpgradeDeps& deps, store::WriteUnit& unit, const std::string& user_id,
                        const std::string& old_id, const std::string& new_id) {
  if (auto tags = deps.account_data.get(user_id, old_id, "m.tag"))
    deps.account_data.set(unit, user_id, new_id, "m.tag", *tags);
  if (auto text = deps.account_data.get(user_id, "", "m.direct")) {
    if (auto direct = read_stored_object(*text, "m.direct", user_id)) {
      bool changed = false;
      for (auto& kv : *direct) {
        if (!kv.value().is_array()) continue;
        auto& ids = kv.value().get_array();
        bool has_old = std::find(ids.begin(), ids.end(), value(old_id)) != ids.end();
        if (has_old && std::find(ids.begin(), ids.end(), value(new_id)) == ids.end()) {
          ids.push_back(value(new_id));
          changed = true;
        }
      }
      if (changed) deps.account_data.set(unit, user_id, "", "m.direct", boost::json::serialize(*direct));
    }
  }
  if (auto text = deps.account_data.get(user_id, "", "m.push_rules")) {
    auto rules = read_stored_object(*text, "m.push_rules", user_id);
    auto* global = rules ? rules->if_contains("global") : nullptr;
    if (!global || !global->is_object()) return;
    bool changed = false;
    for (auto& kind : global->get_object()) {
      if (!kind.value().is_array()) continue;
      auto& list = kind.value().get_array();
      array added;
      for (const auto& r : list)
        if (r.is_object())
          if (auto copy = rule_for_new_room(r.get_object(), old_id, new_id)) added.push_back(std::move(*copy));
      for (auto& r : added) {
        auto clash = std::find_if(list.begin(), list.end(), [&](const value& x) {
          return x.is_object() && x.get_object().if_contains("rule_id") && x.get_object().at("rule_id") == r.get_object().at("rule_id");
        });
        if (clash == list.end()) list.push_back(std::move(r)), changed = true;
      }
    }
    if (changed) deps.account_data.set(unit, user_id, "", "m.push_rules", boost::json::serialize(*rules));
  }
}

}  // namespace

std::string upgrade_room(const RoomUpgradeDeps& deps, store::WriteUnit& unit, const RoomInfo& old_room,
                         const std::string& user_id, RoomVersion new_version) {
  Rooms& rooms = deps.rooms;
  const std::string& old_id = old_room.room_id;
  if (rooms.membership(old_id, user_id) != "join") throw forbidden("You are not joined to this room.");
  std::string new_id = new_room_id(rooms.server_name());
  auto tombstone = rooms.append(unit, old_room, user_id, "m.room.tombstone",
                                object{{"body", "This room has been replaced"}, {"replacement_room", new_id}}, std::string());

  RoomInfo room{new_id, new_version, user_id};
  rooms.insert_room(unit, room);
  object create;
  if (auto old_create = rooms.state_content(old_id, "m.room.create", ""))
    for (const auto& kv : *old_create)
      if (kv.key() != "creator" && kv.key() != "room_version" && kv.key() != "predecessor" &&
          kv.key() != "additional_creators")
        create[kv.key()] = kv.value();
  create["room_version"] = std::string(to_string(new_version));
  create["predecessor"] = object{{"room_id", old_id}, {"event_id", tombstone.event_id}};
  if (create_has_creator(new_version)) create["creator"] = user_id;
  rooms.append(unit, room, user_id, "m.room.create", std::move(create), std::string());
  rooms.append(unit, room, user_id, "m.room.member", member_content(deps.accounts, user_id, "join"), user_id);

  auto old_pl = rooms.state_content(old_id, "m.room.power_levels", "").value_or(object{});
  object pl = old_pl;
  std::int64_t own = -1;
  if (auto* users = old_pl.if_contains("users"); users && users->is_object())
    if (auto* lvl = users->get_object().if_contains(user_id); lvl && lvl->is_int64()) own = lvl->get_int64();
  std::int64_t needed = highest_level(old_pl);
  bool raised = own < needed;
  if (raised) {
    if (!pl["users"].is_object()) pl["users"] = object{};
    pl["users"].as_object()[user_id] = needed;
  }
  rooms.append(unit, room, user_id, "m.room.power_levels", pl, std::string());
  for (const char* type : kCopiedState)
    if (auto content = rooms.state_content(old_id, type, "")) rooms.append(unit, room, user_id, type, *content, std::string());
  for (const auto& [member, membership] : rooms.members(old_id))
    if (membership == "ban") rooms.append(unit, room, user_id, "m.room.member", object{{"membership", "ban"}}, member);

  // Aliases point to the new room, its canonical alias moves with them, and so does its directory entry.
  for (const auto& alias : deps.aliases.of_room(old_id)) {
    auto found = deps.aliases.find(alias);
    deps.aliases.remove(unit, alias);
    deps.aliases.create(unit, alias, new_id, found ? found->creator : user_id);
  }
  auto canonical = rooms.state_content(old_id, "m.room.canonical_alias", "");
  if (canonical && !canonical->empty()) {
    rooms.append(unit, room, user_id, "m.room.canonical_alias", *canonical, std::string());
    try {
      rooms.append(unit, old_room, user_id, "m.room.canonical_alias", object{}, std::string());
    } catch (const CoreError&) { /* below the level for it: the old room keeps naming the aliases */ }
  }
  if (deps.aliases.published(old_id)) {
    deps.aliases.set_published(unit, new_id, true);
    deps.aliases.set_published(unit, old_id, false);
  }
  if (raised && !old_pl.empty()) rooms.append(unit, room, user_id, "m.room.power_levels", old_pl, std::string());

  // The old room: no more messages or invites from ordinary members, where the user may set that.
  std::int64_t restricted = std::max<std::int64_t>(50, int_or(old_pl, "users_default", 0) + 1);
  if (!old_pl.empty() && (int_or(old_pl, "events_default", 0) < restricted || int_or(old_pl, "invite", 0) < restricted)) {
    object locked = old_pl;
    locked["events_default"] = std::max(restricted, int_or(old_pl, "events_default", 0));
    locked["invite"] = std::max(restricted, int_or(old_pl, "invite", 0));
    try {
      rooms.append(unit, old_room, user_id, "m.room.power_levels", std::move(locked), std::string());
    } catch (const CoreError&) { /* the user may send a tombstone but not change these levels */ }
  }

  std::string rule = "invite";
  if (auto jr = rooms.state_content(new_id, "m.room.join_rules", ""))
    if (auto* j = jr->if_contains("join_rule"); j && j->is_string()) rule = j->get_string();
  for (const auto& member : rooms.joined_members(old_id)) {
    if (server_part(member) != rooms.server_name()) continue;
    copy_user_settings(deps, unit, member, old_id, new_id);
    if (member == user_id || rule == "public") continue;
    try {
      rooms.append(unit, room, user_id, "m.room.member", member_content(deps.accounts, member, "invite"), member);
    } catch (const CoreError&) { /* e.g. the user may not invite: they can still be invited later */ }
  }
  return new_id;
}

}  // namespace lotse::core
