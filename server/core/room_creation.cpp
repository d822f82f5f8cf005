// Room creation (client-server API "Creation"): create, creator join, power levels, preset state,
// initial_state, name, topic, invites — in that order.
#include "server/core/room_creation.hpp"

#include <optional>

#include "server/core/errors.hpp"
#include "server/core/identifiers.hpp"

namespace lotse::core {
namespace {

const boost::json::value* field(const boost::json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && !v->is_null() ? v : nullptr;
}

std::string string_field(const boost::json::object& o, const char* key) {
  auto* v = field(o, key);
  if (!v) return {};
  if (!v->is_string()) throw invalid("M_BAD_JSON", std::string(key) + " must be a string");
  return std::string(v->get_string());
}

}  // namespace

std::string create_room(Rooms& rooms, store::WriteUnit& unit, const std::string& creator,
                        const boost::json::object& req, RoomAliases* aliases) {
  RoomVersion version = kNewestRoomVersion;
  if (auto* v = field(req, "room_version")) {
    if (!v->is_string()) throw invalid("M_BAD_JSON", "room_version must be a string");
    if (!parse_room_version(v->get_string(), version))
      throw invalid("M_UNSUPPORTED_ROOM_VERSION", "this server supports room versions 1 to 11");
  }
  std::string visibility = string_field(req, "visibility");
  if (!visibility.empty() && visibility != "public" && visibility != "private")
    throw invalid("M_INVALID_PARAM", "visibility must be public or private");
  std::string preset = string_field(req, "preset");
  if (preset.empty()) preset = visibility == "public" ? "public_chat" : "private_chat";
  if (preset != "private_chat" && preset != "trusted_private_chat" && preset != "public_chat")
    throw invalid("M_INVALID_PARAM", "unknown preset " + preset);

  std::vector<std::string> invites;
  if (auto* inv = field(req, "invite")) {
    if (!inv->is_array()) throw invalid("M_BAD_JSON", "invite must be a list of user IDs");
    for (const auto& u : inv->get_array()) {
      if (!u.is_string() || !is_valid_user_id(u.get_string())) throw invalid("M_INVALID_PARAM", "invalid user ID in invite");
      invites.emplace_back(u.get_string());
    }
  }
  if (field(req, "invite_3pid") && !req.at("invite_3pid").as_array().empty())
    throw invalid("M_INVALID_PARAM", "third-party invites are not supported");
  bool is_direct = false;
  if (auto* d = field(req, "is_direct")) {
    if (!d->is_bool()) throw invalid("M_BAD_JSON", "is_direct must be a boolean");
    is_direct = d->get_bool();
  }
  const boost::json::object* creation_content = nullptr;
  if (auto* cc = field(req, "creation_content")) {
    if (!cc->is_object()) throw invalid("M_BAD_JSON", "creation_content must be an object");
    creation_content = &cc->get_object();
  }
  const boost::json::object* pl_override = nullptr;
  if (auto* p = field(req, "power_level_content_override")) {
    if (!p->is_object()) throw invalid("M_BAD_JSON", "power_level_content_override must be an object");
    pl_override = &p->get_object();
  }
  const boost::json::array* initial_state = nullptr;
  if (auto* is = field(req, "initial_state")) {
    if (!is->is_array()) throw invalid("M_BAD_JSON", "initial_state must be a list of state events");
    initial_state = &is->get_array();
  }
  std::optional<std::string> alias;
  if (auto* a = field(req, "room_alias_name")) {
    if (!aliases) throw invalid("M_INVALID_PARAM", "rooms of this kind get no alias");
    if (!a->is_string()) throw invalid("M_BAD_JSON", "room_alias_name must be a string");
    alias = aliases->make(std::string(a->get_string()));
    if (a->get_string().empty() || std::string_view(a->get_string()).find(':') != std::string_view::npos || !RoomAliases::valid(*alias))
      throw invalid("M_INVALID_PARAM", "room_alias_name must be the local part of an alias: not empty, no ':'");
    if (aliases->find(*alias)) throw invalid("M_ROOM_IN_USE", "The room alias " + *alias + " is already taken.");
  }

  RoomInfo room{new_room_id(rooms.server_name()), version, creator};
  rooms.insert_room(unit, room);

  boost::json::object create_content;
  if (creation_content) create_content = *creation_content;
  create_content["room_version"] = std::string(to_string(version));
  if (create_has_creator(version)) create_content["creator"] = creator;
  else create_content.erase("creator");
  rooms.append(unit, room, creator, "m.room.create", create_content, std::string());

  boost::json::object join{{"membership", "join"}};
  rooms.append(unit, room, creator, "m.room.member", join, creator);

  boost::json::object users{{creator, 100}};
  if (preset == "trusted_private_chat")
    for (const auto& u : invites) users[u] = 100;
  boost::json::object pl{{"users", users},
                         {"users_default", 0},
                         {"events",
                          {{"m.room.name", 50},
                           {"m.room.power_levels", 100},
                           {"m.room.history_visibility", 100},
                           {"m.room.canonical_alias", 50},
                           {"m.room.avatar", 50},
                           {"m.room.tombstone", 100},
                           {"m.room.server_acl", 100},
                           {"m.room.encryption", 100}}},
                         {"events_default", 0},
                         {"state_default", 50},
                         {"ban", 50},
                         {"kick", 50},
                         {"redact", 50},
                         {"invite", 0},
                         {"notifications", {{"room", 50}}}};
  if (pl_override)
    for (const auto& kv : *pl_override) pl[kv.key()] = kv.value();
  rooms.append(unit, room, creator, "m.room.power_levels", pl, std::string());
  if (alias) {
    aliases->create(unit, *alias, room.room_id, creator);
    rooms.append(unit, room, creator, "m.room.canonical_alias", {{"alias", *alias}}, std::string());
  }

  std::string join_rule = preset == "public_chat" ? "public" : "invite";
  rooms.append(unit, room, creator, "m.room.join_rules", {{"join_rule", join_rule}}, std::string());
  rooms.append(unit, room, creator, "m.room.history_visibility", {{"history_visibility", "shared"}}, std::string());
  rooms.append(unit, room, creator, "m.room.guest_access",
               {{"guest_access", preset == "public_chat" ? "forbidden" : "can_join"}}, std::string());

  if (initial_state) {
    for (const auto& ev : *initial_state) {
      if (!ev.is_object()) throw invalid("M_BAD_JSON", "initial_state entries must be objects");
      const auto& o = ev.get_object();
      auto* type = o.if_contains("type");
      auto* content = o.if_contains("content");
      if (!type || !type->is_string() || !content || !content->is_object())
        throw invalid("M_BAD_JSON", "initial_state entries need a type and a content object");
      std::string state_key;
      if (auto* sk = o.if_contains("state_key")) {
        if (!sk->is_string()) throw invalid("M_BAD_JSON", "state_key must be a string");
        state_key = sk->get_string();
      }
      if (type->get_string() == "m.room.create" || type->get_string() == "m.room.member")
        throw invalid("M_INVALID_PARAM", "initial_state cannot contain " + std::string(type->get_string()));
      rooms.append(unit, room, creator, std::string(type->get_string()), content->get_object(), state_key);
    }
  }
  if (auto name = string_field(req, "name"); !name.empty())
    rooms.append(unit, room, creator, "m.room.name", {{"name", name}}, std::string());
  if (auto topic = string_field(req, "topic"); !topic.empty())
    rooms.append(unit, room, creator, "m.room.topic",
                 {{"topic", topic}, {"m.topic", {{"m.text", boost::json::array{boost::json::object{{"body", topic}}}}}}},
                 std::string());
  for (const auto& u : invites) {
    boost::json::object content{{"membership", "invite"}};
    if (is_direct) content["is_direct"] = true;
    rooms.append(unit, room, creator, "m.room.member", content, u);
  }
  return room.room_id;
}

}  // namespace lotse::core
