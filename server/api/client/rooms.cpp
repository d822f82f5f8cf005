// Room creation and membership (client-server API "Rooms", "Room membership").
#include "server/api/common.hpp"
#include "server/core/identifiers.hpp"
#include "server/core/room_creation.hpp"
#include "server/core/room_upgrade.hpp"

namespace lotse::api {
namespace {

void require_existing_user(Homeserver& hs, const std::string& user_id) {
  if (!core::is_valid_user_id(user_id)) throw http::invalid_param("'" + user_id + "' is not a valid user ID");
  if (core::server_part(user_id) != hs.config.server_name)
    throw http::forbidden("This server does not federate: only users of " + hs.config.server_name + " can be invited.");
  if (!hs.accounts.user_exists(user_id)) throw http::not_found("Unknown user " + user_id);
}

awaitable<Response> post_create_room(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  hs.policy.check_create_room(auth.user_id);
  const auto& body = r.json_object();
  // The same checks as /invite: a new room is never a consultation, so no seeker can be invited
  // (invite_3pid is refused by core::create_room, initial_state cannot hold member events).
  if (auto* inv = body.if_contains("invite"); inv && inv->is_array())
    for (const auto& u : inv->get_array())
      if (u.is_string()) {
        require_existing_user(hs, std::string(u.get_string()));
        hs.policy.check_create_room_invite(auth.user_id, std::string(u.get_string()));
      }
  auto visibility = opt_string(body, "visibility").value_or("private");
  if (visibility != "public" && visibility != "private") throw http::invalid_param("visibility must be public or private");
  std::string room_id;
  {
    store::WriteUnit unit(hs.db);
    room_id = core::create_room(hs.rooms, unit, auth.user_id, body, &hs.room_aliases);
    if (visibility == "public") hs.room_aliases.set_published(unit, room_id, true);  // in the published room directory
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json({{"room_id", room_id}});
}

// POST /rooms/{roomId}/upgrade {new_version}: the replacement room (core/room_upgrade.hpp).
awaitable<Response> post_upgrade(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto room = require_room(hs, r.param("roomId"));
  auto version_name = req_string(r.json_object(), "new_version");
  core::RoomVersion version{};
  if (!core::parse_room_version(version_name, version))
    throw MatrixError(400, "M_UNSUPPORTED_ROOM_VERSION", "This server supports room versions 1 to 11, not '" + version_name + "'.");
  hs.policy.check_upgrade(room.room_id, auth.user_id);
  check_rate(hs, hs.message_limiter, auth.user_id);
  std::string new_id;
  {
    store::WriteUnit unit(hs.db);
    new_id = core::upgrade_room({hs.rooms, hs.room_aliases, hs.account_data, hs.accounts}, unit, room, auth.user_id, version);
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json({{"replacement_room", new_id}});
}

// Runs one membership change in its own write unit and waits for the commit.
awaitable<void> change_membership(Homeserver& hs, const core::RoomInfo& room, const std::string& sender,
                                  const std::string& target, std::string_view membership,
                                  const std::optional<std::string>& reason) {
  {
    store::WriteUnit unit(hs.db);
    append_membership(hs, unit, room, sender, target, std::string(membership), reason);
    unit.release();
  }
  co_await hs.db.commit();
}

awaitable<Response> join(Homeserver& hs, Request& r, std::string room_id_or_alias) {
  auto auth = require_auth(hs, r);
  if (!room_id_or_alias.empty() && room_id_or_alias[0] == '#') {
    auto alias = hs.room_aliases.find(room_id_or_alias);
    if (!alias) throw http::not_found("No room has the alias " + room_id_or_alias + ".");
    room_id_or_alias = alias->room_id;
  }
  auto room = require_room(hs, room_id_or_alias);
  hs.policy.check_join(room.room_id, auth.user_id);
  std::optional<std::string> reason;
  if (!r.body.empty()) reason = opt_string(r.json_object(), "reason");
  // Joining a room one is in already changes nothing: no new membership event.
  if (hs.rooms.membership(room.room_id, auth.user_id) != "join" || reason)
    co_await change_membership(hs, room, auth.user_id, auth.user_id, "join", reason);
  co_return Response::json({{"room_id", room.room_id}});
}

// invite, kick, ban, unban: {user_id, reason}
awaitable<Response> target_membership(Homeserver& hs, Request& r, std::string action) {
  auto auth = require_auth(hs, r);
  auto room = require_room(hs, r.param("roomId"));
  const auto& body = r.json_object();
  auto target = req_string(body, "user_id");
  auto reason = opt_string(body, "reason");
  if (action == "invite") {
    require_existing_user(hs, target);
    hs.policy.check_invite(room.room_id, auth.user_id, target);
  }
  else if (!core::is_valid_user_id(target)) throw http::invalid_param("'" + target + "' is not a valid user ID");
  else hs.policy.check_remove(room.room_id, auth.user_id, target);
  std::string membership = action == "invite" ? "invite" : action == "ban" ? "ban" : "leave";
  if (action == "unban" && hs.rooms.membership(room.room_id, target) != "ban")
    throw http::forbidden(target + " is not banned from this room.");
  if (action == "kick") {
    auto current = hs.rooms.membership(room.room_id, target);
    if (current != "join" && current != "invite" && current != "knock")
      throw http::forbidden(target + " is not in this room.");
  }
  co_await change_membership(hs, room, auth.user_id, target, membership, reason);
  co_return empty_ok();
}

awaitable<Response> post_leave(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto room = require_room(hs, r.param("roomId"));
  std::optional<std::string> reason;
  if (!r.body.empty()) reason = opt_string(r.json_object(), "reason");
  auto current = hs.rooms.membership(room.room_id, auth.user_id);
  if (current == "leave" || current == "ban") co_return empty_ok();  // already out: leaving is idempotent
  co_await change_membership(hs, room, auth.user_id, auth.user_id, "leave", reason);
  co_return empty_ok();
}

awaitable<Response> post_forget(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto room = require_room(hs, r.param("roomId"));
  auto current = hs.rooms.membership(room.room_id, auth.user_id);
  if (current == "join" || current == "invite" || current == "knock")
    throw MatrixError(400, "M_UNKNOWN", "You must leave the room before forgetting it.");
  {
    store::WriteUnit unit(hs.db);
    hs.rooms.forget(unit, room.room_id, auth.user_id);
    unit.release();
  }
  co_await hs.db.commit();
  co_return empty_ok();
}

}  // namespace

void register_room_routes(http::Router& router, Homeserver& hs) {
  client_route(router, verb::post, "/createRoom", [&hs](Request& r) { return post_create_room(hs, r); });
  client_route(router, verb::post, "/rooms/{roomId}/upgrade", [&hs](Request& r) { return post_upgrade(hs, r); });
  client_route(router, verb::get, "/joined_rooms", [&hs](Request& r) -> awaitable<Response> {
    const auto& auth = require_auth(hs, r);
    boost::json::array ids;
    for (const auto& room : hs.rooms.rooms_of(auth.user_id))
      if (room.membership == "join") ids.push_back(boost::json::value(room.room_id));
    co_return Response::json({{"joined_rooms", std::move(ids)}});
  });
  client_route(router, verb::post, "/join/{roomIdOrAlias}",
               [&hs](Request& r) { return join(hs, r, r.param("roomIdOrAlias")); });
  client_route(router, verb::post, "/rooms/{roomId}/join", [&hs](Request& r) { return join(hs, r, r.param("roomId")); });
  for (std::string action : {"invite", "kick", "ban", "unban"})
    client_route(router, verb::post, "/rooms/{roomId}/" + action,
                 [&hs, action](Request& r) { return target_membership(hs, r, action); });
  client_route(router, verb::post, "/rooms/{roomId}/leave", [&hs](Request& r) { return post_leave(hs, r); });
  client_route(router, verb::post, "/rooms/{roomId}/forget", [&hs](Request& r) { return post_forget(hs, r); });
}

}  // namespace lotse::api
