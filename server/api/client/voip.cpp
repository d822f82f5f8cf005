// GET /voip/turnServer (client-server API "Voice over IP"): credentials for the instance's own TURN
// relay ([turn] in the config), only for people who may call: counselors, administrators, and
// seekers with an open consultation. Anyone else gets 403, so a fresh account (or one whose
// consultations are all closed) cannot use the relay.
#include <chrono>

#include "server/api/common.hpp"
#include "server/core/turn_credentials.hpp"

namespace lotse::api {

void register_voip_routes(http::Router& router, Homeserver& hs) {
  client_route(router, verb::get, "/voip/turnServer", [&hs](Request& r) -> awaitable<Response> {
    const auto& auth = require_auth(hs, r);
    auto role = hs.accounts.role(auth.user_id);
    if (role != "counselor" && role != "admin" && hs.counseling.open_consultations_of_seeker(auth.user_id) == 0)
      throw http::forbidden("Calls are for open consultations: open one with a counselor first.");
    const auto& turn = hs.config.turn;
    if (turn.uris.empty()) co_return empty_ok();  // no relay configured (the spec's empty answer)
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto creds = core::turn_credentials(turn.shared_secret, auth.user_id, now + turn.ttl_seconds);
    boost::json::array uris;
    for (const auto& u : turn.uris) uris.push_back(boost::json::value(u));
    co_return Response::json({{"username", creds.username}, {"password", creds.password}, {"uris", std::move(uris)},
                              {"ttl", turn.ttl_seconds}});
  });
}

}  // namespace lotse::api
