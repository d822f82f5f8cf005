// Stored filters (client-server API "Filtering"): returned byte for byte as uploaded.
#include "server/api/common.hpp"
#include "server/core/filters.hpp"

namespace lotse::api {

void register_filter_routes(http::Router& router, Homeserver& hs) {
  client_route(router, verb::post, "/user/{userId}/filter", [&hs](Request& r) -> awaitable<Response> {
    auto auth = require_auth(hs, r);
    if (r.param("userId") != auth.user_id) throw http::forbidden("You cannot create filters for other users.");
    core::parse_sync_filter(r.json_object());  // validates
    std::string id;
    {
      store::WriteUnit unit(hs.db);
      id = hs.filters.store(unit, auth.user_id, r.body);
      unit.release();
    }
    co_await hs.db.commit();
    co_return Response::json({{"filter_id", id}});
  });
  client_route(router, verb::get, "/user/{userId}/filter/{filterId}", [&hs](Request& r) -> awaitable<Response> {
    auto auth = require_auth(hs, r);
    if (r.param("userId") != auth.user_id) throw http::forbidden("You cannot read other users' filters.");
    auto stored = hs.filters.load(auth.user_id, r.param("filterId"));
    if (!stored) throw http::not_found("No such filter.");
    Response res;
    res.body = *stored;
    co_return res;
  });
}

}  // namespace lotse::api
