// Device management (client-server API "Device Management").
#include "server/api/client/uia.hpp"
#include "server/api/common.hpp"

namespace lotse::api {
namespace {

boost::json::object device_json(const core::DeviceInfo& d) {
  boost::json::object o{{"device_id", d.device_id}};
  if (d.display_name) o["display_name"] = *d.display_name;
  if (d.last_seen_ts) o["last_seen_ts"] = *d.last_seen_ts;
  if (d.last_seen_ip) o["last_seen_ip"] = *d.last_seen_ip;
  return o;
}

awaitable<Response> delete_devices(Homeserver& hs, Request& r, const std::vector<std::string>& ids) {
  auto auth = require_auth(hs, r);
  co_await require_password_uia(hs, r, auth.user_id);
  {
    store::WriteUnit unit(hs.db);
    for (const auto& id : ids) remove_device(hs, unit, auth.user_id, id);
    unit.release();
  }
  co_await hs.db.commit();
  co_return empty_ok();
}

}  // namespace

void register_device_routes(http::Router& router, Homeserver& hs) {
  client_route(router, verb::get, "/devices", [&hs](Request& r) -> awaitable<Response> {
    const auto& auth = require_auth(hs, r);
    boost::json::array out;
    for (const auto& d : hs.accounts.devices(auth.user_id)) out.push_back(device_json(d));
    co_return Response::json({{"devices", std::move(out)}});
  });
  client_route(router, verb::get, "/devices/{deviceId}", [&hs](Request& r) -> awaitable<Response> {
    const auto& auth = require_auth(hs, r);
    auto d = hs.accounts.device(auth.user_id, r.param("deviceId"));
    if (!d) throw http::not_found("Unknown device.");
    co_return Response::json(device_json(*d));
  });
  client_route(router, verb::put, "/devices/{deviceId}", [&hs](Request& r) -> awaitable<Response> {
    auto auth = require_auth(hs, r);
    const auto& body = r.json_object();
    auto name = opt_string(body, "display_name");
    if (!hs.accounts.device(auth.user_id, r.param("deviceId"))) throw http::not_found("Unknown device.");
    if (name) {
      if (name->size() > 255) throw http::invalid_param("display_name is too long");
      store::WriteUnit unit(hs.db);
      hs.accounts.set_device_name(unit, auth.user_id, r.param("deviceId"), *name);
      unit.release();
    }
    co_await hs.db.commit();
    co_return empty_ok();
  });
  client_route(router, verb::delete_, "/devices/{deviceId}", [&hs](Request& r) -> awaitable<Response> {
    const auto& auth = require_auth(hs, r);
    if (!hs.accounts.device(auth.user_id, r.param("deviceId"))) throw http::not_found("Unknown device.");
    std::vector<std::string> ids;
    ids.push_back(r.param("deviceId"));
    co_return co_await delete_devices(hs, r, ids);
  });
  client_route(router, verb::post, "/delete_devices", [&hs](Request& r) -> awaitable<Response> {
    require_auth(hs, r);
    const auto& body = r.json_object();
    auto* list = body.if_contains("devices");
    if (!list || !list->is_array()) throw http::missing_param("missing 'devices'");
    std::vector<std::string> ids;
    for (const auto& v : list->get_array()) {
      if (!v.is_string()) throw http::bad_json("'devices' must be a list of strings");
      ids.emplace_back(v.get_string());
    }
    co_return co_await delete_devices(hs, r, ids);
  });
}

}  // namespace lotse::api
