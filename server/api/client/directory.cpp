// Room aliases (client-server API "Room aliases"): PUT, GET and DELETE /directory/room/{roomAlias}
// and GET /rooms/{roomId}/aliases. Local aliases only (no federation). Creating one needs a joined
// member who is no seeker; deleting it, its creator or someone who may change the room's
// m.room.canonical_alias; the list, a member (or anyone for a world-readable room).
#include "server/api/common.hpp"
#include "server/core/room_aliases.hpp"

namespace lotse::api {
namespace {

// The alias from the path, checked: 400 for a malformed one.
std::string path_alias(Request& r) {
  std::string alias = r.param("roomAlias");
  if (!core::RoomAliases::valid(alias)) throw http::invalid_param("Not a room alias: " + alias + " (#name:server).");
  return alias;
}

// Whether `user_id` may send m.room.canonical_alias in the room (its power levels, v10/v11 rules).
bool may_set_canonical_alias(Homeserver& hs, const std::string& room_id, const std::string& user_id) {
  auto pl = hs.rooms.state_content(room_id, "m.room.power_levels", "");
  if (!pl) return false;
  auto level = [](const boost::json::value* v, std::int64_t def) { return v && v->is_int64() ? v->as_int64() : def; };
  const auto* users = pl->if_contains("users");
  std::int64_t mine = level(pl->if_contains("users_default"), 0);
  if (users && users->is_object()) mine = level(users->as_object().if_contains(user_id), mine);
  std::int64_t needed = level(pl->if_contains("state_default"), 50);
  if (const auto* events = pl->if_contains("events"); events && events->is_object())
    needed = level(events->as_object().if_contains("m.room.canonical_alias"), needed);
  return mine >= needed;
}

}  // namespace

void register_directory_routes(http::Router& router, Homeserver& hs) {
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
