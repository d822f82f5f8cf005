// Presence (client-server API "Presence"): GET and PUT /presence/{userId}/status over core::Presence,
// which also decides who sees whose (no seeker's, none for a seeker).
#include "server/api/common.hpp"

namespace lotse::api {

void register_presence_routes(http::Router& router, Homeserver& hs) {
  client_route(router, verb::put, "/presence/{userId}/status", [&hs](Request& r) -> awaitable<Response> {
    const auto& auth = require_auth(hs, r);
    if (r.param("userId") != auth.user_id) throw http::forbidden("You cannot set another user's presence.");
    const auto& body = r.json_object();
    auto presence = req_string(body, "presence");
    std::optional<std::string> status_msg;
    if (auto* m = body.if_contains("status_msg"); m && !m->is_null()) {
      if (!m->is_string()) throw MatrixError(400, "M_BAD_JSON", "status_msg must be a string");
      status_msg = std::string(m->get_string());
    }
    check_rate(hs, hs.message_limiter, auth.user_id);
    hs.presence.set(auth.user_id, presence, status_msg);
    co_return empty_ok();
  });
  client_route(router, verb::get, "/presence/{userId}/status", [&hs](Request& r) -> awaitable<Response> {
    const auto& auth = require_auth(hs, r);
    const auto& user_id = r.param("userId");
    if (!hs.accounts.user_exists(user_id)) throw http::not_found("Unknown user " + user_id);
    if (user_id != auth.user_id && !hs.presence.visible(auth.user_id, user_id))
      throw http::forbidden("You cannot see this user's presence: it is shared only between staff who share a room.");
    co_return Response::json(hs.presence.content(user_id));
  });
}

}  // namespace lotse::api
