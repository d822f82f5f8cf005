// Password change and account deactivation (client-server API "Account management").
#include "server/api/client/uia.hpp"
#include "server/api/common.hpp"

namespace lotse::api {
namespace {

awaitable<Response> post_password(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  const auto& body = r.json_object();
  auto new_password = req_string(body, "new_password");
  if (new_password.empty() || new_password.size() > 512) throw http::invalid_param("new_password must be 1 to 512 bytes");
  auto scheme = password_scheme_param(body);
  co_await require_password_uia(hs, r, auth.user_id);
  bool logout_devices = opt_bool(body, "logout_devices").value_or(true);
  auto cost = hs.password_cost();
  auto hash_task = [new_password, cost] { return core::hash_password(new_password, cost); };
  std::string hash = co_await hs.run_blocking(hash_task);
  {
    store::WriteUnit unit(hs.db);
    hs.accounts.set_password(unit, auth.user_id, hash, scheme);
    if (logout_devices) remove_all_devices(hs, unit, auth.user_id, auth.device_id);
    unit.release();
  }
  co_await hs.db.commit();
  co_return empty_ok();
}

awaitable<Response> post_deactivate(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  co_await require_password_uia(hs, r, auth.user_id);
  // erase: true also removes what others can see of the user (messages redacted, files deleted).
  if (opt_bool(r.json_object(), "erase").value_or(false)) {
    {
      store::WriteUnit unit(hs.db);
      remove_all_devices(hs, unit, auth.user_id, std::nullopt);
      hs.data_protection.erase_user(unit, auth.user_id);
      unit.release();
    }
    co_await hs.db.commit();
    co_return Response::json({{"id_server_unbind_result", "no-support"}});
  }
  {
    store::WriteUnit unit(hs.db);
    for (const auto& room : hs.rooms.rooms_of(auth.user_id, true)) {
      if (room.membership != "join" && room.membership != "invite") continue;
      if (auto info = hs.rooms.room(room.room_id))
        append_membership(hs, unit, *info, auth.user_id, auth.user_id, "leave", std::nullopt);
    }
    remove_all_devices(hs, unit, auth.user_id, std::nullopt);
    hs.accounts.deactivate(unit, auth.user_id);
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json({{"id_server_unbind_result", "no-support"}});
}

}  // namespace

void register_account_routes(http::Router& router, Homeserver& hs) {
  client_route(router, verb::post, "/account/password", [&hs](Request& r) { return post_password(hs, r); });
  client_route(router, verb::post, "/account/deactivate", [&hs](Request& r) { return post_deactivate(hs, r); });
}

}  // namespace lotse::api
