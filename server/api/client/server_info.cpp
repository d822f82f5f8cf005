// Discovery and capability endpoints: /versions, .well-known, /capabilities, and the answers for
// features this server does not offer yet (third-party protocols).
#include "server/api/common.hpp"

namespace lotse::api {

void register_server_info_routes(http::Router& router, Homeserver& hs) {
  raw_route(router, verb::get, "/_matrix/client/versions", [](Request&) -> awaitable<Response> {
    boost::json::array versions;
    for (auto* v : {"r0.0.1", "r0.1.0", "r0.2.0", "r0.3.0", "r0.4.0", "r0.5.0", "r0.6.0", "r0.6.1", "v1.1", "v1.2",
                    "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10", "v1.11", "v1.12"})
      versions.push_back(boost::json::value(v));
    co_return Response::json({{"versions", std::move(versions)},
                              {"unstable_features",
                               {{"io.element.e2ee_forced.public", true},
                                {"io.element.e2ee_forced.private", true},
                                {"io.element.e2ee_forced.trusted_private", true},
                                {"org.matrix.msc3916.stable", true}}}});
  });
  raw_route(router, verb::get, "/.well-known/matrix/client", [&hs](Request&) -> awaitable<Response> {
    if (hs.config.public_baseurl.empty()) throw http::not_found("No client discovery information is configured.");
    co_return Response::json({{"m.homeserver", {{"base_url", hs.config.public_baseurl}}}});
  });
  client_route(router, verb::get, "/capabilities", [&hs](Request& r) -> awaitable<Response> {
    require_auth(hs, r);
    boost::json::object versions;
    for (int v = 1; v <= core::number(core::kNewestRoomVersion); ++v)
      versions[core::to_string(static_cast<core::RoomVersion>(v))] = "stable";
    co_return Response::json(
        {{"capabilities",
          {{"m.room_versions", {{"default", core::to_string(core::kNewestRoomVersion)}, {"available", std::move(versions)}}},
           {"m.change_password", {{"enabled", true}}},
           {"m.set_displayname", {{"enabled", true}}},
           {"m.set_avatar_url", {{"enabled", true}}},
           {"m.3pid_changes", {{"enabled", false}}},
           {"m.get_login_token", {{"enabled", false}}}}}});
  });
  client_route(router, verb::get, "/thirdparty/protocols", [&hs](Request& r) -> awaitable<Response> {
    require_auth(hs, r);
    co_return empty_ok();
  });
  raw_route(router, verb::get, "/health", [&hs](Request&) -> awaitable<Response> {
    if (!hs.db.healthy()) {
      Response res = Response::json({{"status", "database not writable"}}, 503);
      co_return res;
    }
    co_return Response::json({{"status", "ok"}});
  });
}

}  // namespace lotse::api
