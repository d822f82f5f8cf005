// PUT /sendToDevice/{eventType}/{txnId} (client-server API "Send-to-Device messaging").
#include "server/api/common.hpp"

namespace lotse::api {
namespace {

awaitable<Response> put_send_to_device(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  const auto& type = r.param("eventType");
  const auto& txn = r.param("txnId");
  if (txn.empty() || txn.size() > 255) throw http::invalid_param("transaction id must be 1 to 255 bytes");
  const auto& body = r.json_object();
  if (hs.to_device.seen_transaction(auth.user_id, auth.device_id, txn)) co_return empty_ok();
  const auto& messages = req_object(body, "messages");
  {
    store::WriteUnit unit(hs.db);
    for (const auto& user_kv : messages) {
      if (!user_kv.value().is_object()) throw http::bad_json("messages must map users to devices");
      std::string user(user_kv.key());
      // Messages to users the sender may not reach (Policy::may_reach: seekers and the people
      // they share no room with) are dropped silently, exactly like messages to unknown users or
      // devices: the spec defines no error for this call, and a 403 would tell the sender that
      // the user exists. The body is validated as for anyone else.
      // The bridge's account never syncs: nothing is queued for it (it only sends).
      bool reachable = hs.policy.may_reach(hs.rooms, auth.user_id, user) && hs.accounts.role(user) != "bridge";
      auto devices = reachable ? hs.accounts.devices(user) : std::vector<core::DeviceInfo>{};
      for (const auto& dev_kv : user_kv.value().as_object()) {
        if (!dev_kv.value().is_object()) throw http::bad_json("each message must be an object");
        // Content is passed through verbatim (clients add fields such as org.matrix.msgid).
        std::string event = boost::json::serialize(
            boost::json::object{{"sender", auth.user_id}, {"type", type}, {"content", dev_kv.value()}});
        for (const auto& d : devices)
          if (dev_kv.key() == "*" || dev_kv.key() == d.device_id) hs.to_device.queue(unit, user, d.device_id, event);
      }
    }
    hs.to_device.record_transaction(unit, auth.user_id, auth.device_id, txn);
    unit.release();
  }
  co_await hs.db.commit();
  co_return empty_ok();
}

}  // namespace

void register_to_device_routes(http::Router& router, Homeserver& hs) {
  client_route(router, verb::put, "/sendToDevice/{eventType}/{txnId}", [&hs](Request& r) { return put_send_to_device(hs, r); });
}

}  // namespace lotse::api
