// The room directory. Room aliases (client-server API "Room aliases"): PUT, GET and DELETE
// /directory/room/{roomAlias} and GET /rooms/{roomId}/aliases. Local aliases only (no federation).
// Creating one needs a joined member who is no seeker; deleting it, its creator or someone who may
// change the room's m.room.canonical_alias; the list, a member (or anyone for a world-readable
// room). The published room directory ("Listing rooms"): /directory/list/room/{roomId} and
// /publicRooms; rooms are listed by their moderators (or createRoom's visibility "public") and seen
// by signed-in users who are no seekers (a seeker's world is her consultations).
#include <algorithm>
#include <cctype>

#include "server/api/common.hpp"
#include "server/core/auth_rules.hpp"
#include "server/core/room_aliases.hpp"

namespace lotse::api {
namespace {

// The alias from the path, checked: 400 for a malformed one.
std::string path_alias(Request& r) {
  std::string alias = r.param("roomAlias");
  if (!core::RoomAliases::valid(alias)) throw http::invalid_param("Not a room alias: " + alias + " (#name:server).");
  return alias;
}

// Whether `user_id` may send m.room.canonical_alias in the room (the auth rules' power levels).
bool may_set_canonical_alias(Homeserver& hs, const std::string& room_id, const std::string& user_id) {
  auto room = hs.rooms.room(room_id);
  if (!room) return false;
  auto state = hs.rooms.lookup_for(room_id);
  return core::user_power_level(state, user_id, room->version, room->creator) >=
         core::event_power_level(state, "m.room.canonical_alias", true);
}

// A deleted alias leaves the room's m.room.canonical_alias too (as `alias` or among `alt_aliases`), by
// the one who deleted it where they may change that event; else the event keeps naming it.
void drop_from_canonical_alias(Homeserver& hs, store::WriteUnit& unit, const std::string& room_id,
                               const std::string& alias, const std::string& user_id) {
  auto content = hs.rooms.state_content(room_id, "m.room.canonical_alias", "");
  auto room = hs.rooms.room(room_id);
  if (!content || !room || !may_set_canonical_alias(hs, room_id, user_id)) return;
  bool changed = false;
  if (auto* a = content->if_contains("alias"); a && *a == boost::json::value(alias)) {
    content->erase("alias");
    changed = true;
  }
  if (auto* alt = content->if_contains("alt_aliases"); alt && alt->is_array()) {
    auto& list = alt->get_array();
    auto kept = std::remove(list.begin(), list.end(), boost::json::value(alias));
    changed = changed || kept != list.end();
    list.erase(kept, list.end());
  }
  if (changed) hs.rooms.append(unit, *room, user_id, "m.room.canonical_alias", std::move(*content), std::string());
}

// One published room as /publicRooms lists it.
boost::json::object public_room(Homeserver& hs, const std::string& room_id) {
  boost::json::object out{{"room_id", room_id}, {"guest_can_join", false}};
  auto text = [&](const char* type, const char* key, const char* as) {
    if (auto c = hs.rooms.state_content(room_id, type, ""); c && c->contains(key) && c->at(key).is_string() &&
                                                          !c->at(key).get_string().empty())
      out[as] = c->at(key);
  };
  text("m.room.name", "name", "name");
  text("m.room.topic", "topic", "topic");
  text("m.room.canonical_alias", "alias", "canonical_alias");
  text("m.room.avatar", "url", "avatar_url");
  text("m.room.join_rules", "join_rule", "join_rule");
  text("m.room.history_visibility", "history_visibility", "history_visibility");
  text("m.room.create", "type", "room_type");
  out["world_readable"] = out.contains("history_visibility") && out["history_visibility"] == boost::json::value("world_readable");
  out.erase("history_visibility");
  std::int64_t joined = 0;
  for (const auto& [u, m] : hs.rooms.members(room_id)) if (m == "join") ++joined;
  out["num_joined_members"] = joined;
  return out;
}

// GET and POST /publicRooms: most members first; `since` is an offset token ("o<N>"); a search term
// matches name, topic or canonical alias (case-insensitive ASCII). Only this server's rooms.
Response public_rooms(Homeserver& hs, const std::string& user_id, std::optional<std::string> server, std::int64_t limit,
                      const std::optional<std::string>& since, const std::string& term) {
  if (hs.policy.is_seeker(user_id)) throw http::forbidden("Seekers see their consultations, not a room directory.");
  if (server && *server != hs.config.server_name) throw http::not_found("Only this server's rooms are listed.");
  std::size_t offset = 0;
  if (since) {
    if (since->size() < 2 || (*since)[0] != 'o' || since->find_first_not_of("0123456789", 1) != std::string::npos || since->size() > 10)
      throw http::invalid_param("Unknown pagination token.");
    offset = std::stoul(since->substr(1));
  }
  if (limit <= 0 || limit > 500) limit = 500;
  auto lower = [](std::string s) { for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c))); return s; };
  auto needle = lower(term);
  std::vector<boost::json::object> rooms;
  for (const auto& id : hs.room_aliases.published_rooms()) {
    if (hs.counseling.consultation(id)) continue;  // never, whoever published it
    auto room = public_room(hs, id);
    if (!needle.empty()) {
      bool hit = false;
      for (const char* k : {"name", "topic", "canonical_alias"})
        if (room.contains(k) && lower(std::string(room[k].as_string())).find(needle) != std::string::npos) hit = true;
      if (!hit) continue;
    }
    rooms.push_back(std::move(room));
  }
  std::stable_sort(rooms.begin(), rooms.end(), [](const auto& a, const auto& b) {
    return a.at("num_joined_members").as_int64() > b.at("num_joined_members").as_int64();
  });
  boost::json::array chunk;
  for (std::size_t i = offset; i < rooms.size() && chunk.size() < static_cast<std::size_t>(limit); ++i) chunk.push_back(rooms[i]);
  boost::json::object out{{"chunk", std::move(chunk)}, {"total_room_count_estimate", rooms.size()}};
  if (offset + static_cast<std::size_t>(limit) < rooms.size()) out["next_batch"] = "o" + std::to_string(offset + limit);
  if (offset > 0) out["prev_batch"] = "o" + std::to_string(offset > static_cast<std::size_t>(limit) ? offset - limit : 0);
  return Response::json(out);
}

}  // namespace

void register_directory_routes(http::Router& router, Homeserver& hs) {
  client_route(router, verb::get, "/directory/list/room/{roomId}", [&hs](Request& r) -> awaitable<Response> {
    auto room = require_room(hs, r.param("roomId"));
    co_return Response::json({{"visibility", hs.room_aliases.published(room.room_id) ? "public" : "private"}});
  });
  client_route(router, verb::put, "/directory/list/room/{roomId}", [&hs](Request& r) -> awaitable<Response> {
    const auto& auth = require_auth(hs, r);
    auto room = require_room(hs, r.param("roomId"));
    auto visibility = r.body.empty() ? std::string("public") : opt_string(r.json_object(), "visibility").value_or("public");
    if (visibility != "public" && visibility != "private") throw http::invalid_param("visibility must be public or private");
    if (hs.counseling.consultation(room.room_id) || hs.policy.is_seeker(auth.user_id))
      throw http::forbidden("Consultations are never listed in the room directory.");
    if (room.creator != auth.user_id && !may_set_canonical_alias(hs, room.room_id, auth.user_id))
      throw http::forbidden("Only the room's creator or its moderators can list it in the room directory.");
    {
      store::WriteUnit unit(hs.db);
      hs.room_aliases.set_published(unit, room.room_id, visibility == "public");
      unit.release();
    }
    co_await hs.db.commit();
    co_return empty_ok();
  });
  client_route(router, verb::get, "/publicRooms", [&hs](Request& r) -> awaitable<Response> {
    const auto& auth = require_auth(hs, r);
    auto limit = r.query_param("limit");
    std::int64_t n = 0;
    if (limit) {
      if (limit->empty() || limit->size() > 6 || limit->find_first_not_of("0123456789") != std::string::npos)
        throw http::invalid_param("limit must be a number");
      n = std::stoll(*limit);
    }
    co_return public_rooms(hs, auth.user_id, r.query_param("server"), n, r.query_param("since"), "");
  });
  client_route(router, verb::post, "/publicRooms", [&hs](Request& r) -> awaitable<Response> {
    const auto& auth = require_auth(hs, r);
    const auto& body = r.json_object();
    std::int64_t n = 0;
    if (auto* l = body.if_contains("limit"); l && !l->is_null()) {
      if (!l->is_int64()) throw http::invalid_param("limit must be a number");
      n = l->as_int64();
    }
    std::string term;
    if (auto* f = body.if_contains("filter"); f && f->is_object())
      if (auto* t = f->as_object().if_contains("generic_search_term"); t && t->is_string()) term = std::string(t->as_string());
    co_return public_rooms(hs, auth.user_id, r.query_param("server"), n, opt_string(body, "since"), term);
  });
  client_route(router, verb::put, "/directory/room/{roomAlias}", [&hs](Request& r) -> awaitable<Response> {
    const auto& auth = require_auth(hs, r);
    auto alias = path_alias(r);
    if (!hs.room_aliases.local(alias)) throw http::invalid_param("Aliases of this server end in :" + hs.config.server_name + ".");
    auto room = require_room(hs, req_string(r.json_object(), "room_id"));
    if (hs.policy.is_seeker(auth.user_id)) throw http::forbidden("Seekers cannot give rooms an alias.");
    if (hs.rooms.membership(room.room_id, auth.user_id) != "join")
      throw http::forbidden("Only members of a room can give it an alias.");
    if (hs.room_aliases.find(alias)) throw MatrixError(409, "M_UNKNOWN", "The room alias " + alias + " already exists.");
    {
      store::WriteUnit unit(hs.db);
      hs.room_aliases.create(unit, alias, room.room_id, auth.user_id);
      unit.release();
    }
    co_await hs.db.commit();
    co_return empty_ok();
  });
  client_route(router, verb::get, "/directory/room/{roomAlias}", [&hs](Request& r) -> awaitable<Response> {
    auto alias = path_alias(r);
    auto found = hs.room_aliases.find(alias);
    if (!found) throw http::not_found("No room has the alias " + alias + ".");
    co_return Response::json({{"room_id", found->room_id},
                              {"servers", boost::json::array{boost::json::value(hs.config.server_name)}}});
  });
  client_route(router, verb::delete_, "/directory/room/{roomAlias}", [&hs](Request& r) -> awaitable<Response> {
    const auto& auth = require_auth(hs, r);
    auto alias = path_alias(r);
    auto found = hs.room_aliases.find(alias);
    if (!found) throw http::not_found("No room has the alias " + alias + ".");
    if (found->creator != auth.user_id && !may_set_canonical_alias(hs, found->room_id, auth.user_id))
      throw http::forbidden("Only the alias's creator or the room's moderators can delete it.");
    {
      store::WriteUnit unit(hs.db);
      hs.room_aliases.remove(unit, alias);
      drop_from_canonical_alias(hs, unit, found->room_id, alias, auth.user_id);
      unit.release();
    }
    co_await hs.db.commit();
    co_return empty_ok();
  });
  client_route(router, verb::get, "/rooms/{roomId}/aliases", [&hs](Request& r) -> awaitable<Response> {
    const auto& auth = require_auth(hs, r);
    auto room = require_room(hs, r.param("roomId"));
    auto visibility = hs.rooms.state_content(room.room_id, "m.room.history_visibility", "");
    bool world_readable = visibility && visibility->contains("history_visibility") &&
                          visibility->at("history_visibility") == boost::json::value("world_readable");
    if (!world_readable && hs.rooms.membership(room.room_id, auth.user_id) != "join")
      throw http::forbidden("Only the room's members can list its aliases.");
    boost::json::array aliases;
    for (const auto& a : hs.room_aliases.of_room(room.room_id)) aliases.push_back(boost::json::value(a));
    co_return Response::json({{"aliases", std::move(aliases)}});
  });
}

}  // namespace lotse::api
