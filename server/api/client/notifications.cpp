// Push notifications (client-server API "Push Notifications"): GET /pushers, POST /pushers/set,
// GET /notifications, and GET /_lotse/client/v1/push, which gives the PWA the VAPID key to
// subscribe with.
//
// Only pushers that name this server's own gateway (its /_matrix/push/v1/notify) are accepted: a
// notification's metadata (that a message arrived, when) never reaches a third-party gateway. The
// gateway is built in and called directly after commit (server/push); its push gateway API endpoint
// is not served, because nothing needs it and, unauthenticated, it could only be abused to send
// pushes. It delivers by Web Push to the browser's push service, one of [push] endpoint_hosts.
#include "server/api/common.hpp"
#include "server/core/client_events.hpp"
#include "server/core/stored_json.hpp"
#include "server/push/push_delivery.hpp"

namespace lotse::api {
namespace {

constexpr std::string_view kGatewayPath = "/_matrix/push/v1/notify";
constexpr std::size_t kMaxPushersPerUser = 20;

std::string bounded_string(const boost::json::object& body, const char* key, std::size_t max) {
  auto v = req_string(body, key);
  if (v.empty() || v.size() > max)
    throw http::invalid_param(std::string(key) + " must be 1 to " + std::to_string(max) + " bytes");
  return v;
}

// The gateway's public URL: public_baseurl + the push gateway API path; without a public_baseurl
// (development) any origin with that path names this server.
std::string gateway_url(Homeserver& hs) {
  auto base = hs.config.public_baseurl;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + std::string(kGatewayPath);
}

bool is_own_gateway(Homeserver& hs, const std::string& url) {
  if (url.size() > 1024) return false;
  if (!hs.config.public_baseurl.empty()) return url == gateway_url(hs);
  return url.size() > kGatewayPath.size() && url.compare(url.size() - kGatewayPath.size(), kGatewayPath.size(), kGatewayPath) == 0;
}

boost::json::object pusher_json(const core::Pusher& p) {
  boost::json::object o{{"pushkey", p.pushkey},
                        {"kind", p.kind},
                        {"app_id", p.app_id},
                        {"app_display_name", p.app_display_name},
                        {"device_display_name", p.device_display_name},
                        {"lang", p.lang},
                        {"data", p.data}};
  if (p.profile_tag) o["profile_tag"] = *p.profile_tag;
  return o;
}

awaitable<Response> set_pusher(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  const auto& body = r.json_object();
  auto app_id = bounded_string(body, "app_id", 64);
  auto pushkey = bounded_string(body, "pushkey", 512);
  auto* kind = body.if_contains("kind");
  if (!kind) throw http::missing_param("missing 'kind'");
  if (kind->is_null()) {
    {
      store::WriteUnit unit(hs.db);
      hs.pushers.remove(unit, auth.user_id, app_id, pushkey);
      unit.release();
    }
    co_await hs.db.commit();
    co_return empty_ok();
  }
  if (!kind->is_string()) throw http::bad_json("'kind' must be a string or null");
  if (kind->get_string() != "http")
    throw http::invalid_param("Only pushers of kind \"http\" (this server's Web Push gateway) are supported.");
  core::Pusher p;
  p.user_id = auth.user_id;
  p.device_id = auth.device_id;
  p.app_id = app_id;
  p.pushkey = pushkey;
  p.kind = "http";
  p.app_display_name = bounded_string(body, "app_display_name", 256);
  p.device_display_name = bounded_string(body, "device_display_name", 256);
  p.lang = bounded_string(body, "lang", 64);
  if (auto tag = opt_string(body, "profile_tag")) {
    if (tag->size() > 64) throw http::invalid_param("profile_tag must be at most 64 bytes");
    p.profile_tag = *tag;
  }
  const auto& data = req_object(body, "data");
  auto url = req_string(data, "url");
  if (!is_own_gateway(hs, url))
    throw http::invalid_param(
        "This server delivers notifications only through its own gateway: data.url must be " +
        (hs.config.public_baseurl.empty() ? "a URL ending in " + std::string(kGatewayPath) : gateway_url(hs)) + ".");
  auto format = opt_string(data, "format");
  if (format && *format != "event_id_only")
    throw http::invalid_param("data.format must be \"event_id_only\" (no content ever leaves the server)");
  auto endpoint = req_string(data, "endpoint");
  if (auto refusal = hs.push_delivery.endpoint_refusal(endpoint)) throw http::invalid_param(*refusal);
  auto auth_secret = req_string(data, "auth");
  try {
    // The browser's key and secret must work before anything is stored: one trial encryption.
    push::encrypt_aes128gcm("{}", push::base64url_decode(pushkey), push::base64url_decode(auth_secret));
  } catch (const push::WebPushError& e) {
    throw http::invalid_param(std::string("pushkey must be the subscription's P-256 key (base64url) and data.auth its "
                                          "16-byte secret: ") + e.what());
  }
  p.data = {{"url", url}, {"format", "event_id_only"}, {"endpoint", endpoint}, {"auth", auth_secret}};
  p.created_ts = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count();
  bool append = opt_bool(body, "append").value_or(false);
  bool exists = false;
  for (const auto& q : hs.pushers.of_user(auth.user_id)) exists = exists || (q.app_id == app_id && q.pushkey == pushkey);
  if (!exists && hs.pushers.count_of_user(auth.user_id) >= kMaxPushersPerUser)
    throw MatrixError(400, "M_LIMIT_EXCEEDED", "Too many pushers: remove one first.");
  {
    store::WriteUnit unit(hs.db);
    hs.pushers.set(unit, p, append);
    unit.release();
  }
  co_await hs.db.commit();
  co_return empty_ok();
}

awaitable<Response> get_notifications(Homeserver& hs, Request& r) {
  const auto& auth = require_auth(hs, r);
  std::int64_t before = 0;
  if (auto from = r.query_param("from")) {
    if (from->empty() || from->size() > 18 || from->find_first_not_of("0123456789") != std::string::npos)
      throw http::invalid_param("invalid 'from' token");
    before = std::stoll(*from);
  }
  auto limit = static_cast<std::size_t>(int_param(r, "limit", 20, 1, 100));
  auto only = r.query_param("only");
  bool only_highlight = only && only->find("highlight") != std::string::npos;
  auto items = hs.notifications.list(auth.user_id, before, limit + 1, only_highlight);
  bool more = items.size() > limit;
  if (more) items.resize(limit);
  boost::json::array out;
  core::Viewer viewer{auth.user_id, auth.device_id};
  for (const auto& item : items) {
    auto ev = hs.rooms.event(item.event_id);
    if (!ev) continue;  // purged since
    auto actions = core::read_stored_json(item.actions_json, "push actions", item.event_id);
    out.push_back({{"actions", actions ? *actions : boost::json::array{}},
                   {"event", core::client_event(hs.rooms, *ev, viewer, false)},
                   {"read", item.read},
                   {"room_id", item.room_id},
                   {"ts", item.ts}});
  }
  boost::json::object res{{"notifications", std::move(out)}};
  if (more && !items.empty()) res["next_token"] = std::to_string(items.back().stream);
  co_return Response::json(std::move(res));
}

}  // namespace

void register_notification_routes(http::Router& router, Homeserver& hs) {
  client_route(router, verb::get, "/pushers", [&hs](Request& r) -> awaitable<Response> {
    const auto& auth = require_auth(hs, r);
    boost::json::array out;
    for (const auto& p : hs.pushers.of_user(auth.user_id)) out.push_back(pusher_json(p));
    co_return Response::json({{"pushers", std::move(out)}});
  });
  client_route(router, verb::post, "/pushers/set", [&hs](Request& r) { return set_pusher(hs, r); });
  client_route(router, verb::get, "/notifications", [&hs](Request& r) { return get_notifications(hs, r); });
  // The digest's one-click unsubscribe link (RFC 8058: POST from mail clients, GET from a browser).
  for (auto method : {verb::get, verb::post})
    raw_route(router, method, "/_lotse/client/v1/email/unsubscribe", [&hs](Request& r) -> awaitable<Response> {
      auto user = r.query_param("user").value_or("");
      auto token = r.query_param("token").value_or("");
      if (user.empty() || user.size() > 255 || !hs.email_digest.token_valid(user, token))
        throw http::forbidden("This unsubscribe link is not valid.");
      {
        store::WriteUnit unit(hs.db);
        hs.email_digests.unsubscribe(unit, user);
        unit.release();
      }
      co_await hs.db.commit();
      Response res;
      res.content_type = "text/html; charset=utf-8";
      res.body = "<!doctype html><meta charset=utf-8><title>OK</title><p lang=de>Sie erhalten keine solchen E-Mails mehr.</p>"
                 "<p lang=en>You will get no more of these e-mails.</p>";
      co_return res;
    });
  raw_route(router, verb::get, "/_lotse/client/v1/push", [&hs](Request& r) -> awaitable<Response> {
    require_auth(hs, r);
    co_return Response::json({{"enabled", hs.config.push.enabled},
                              {"vapid_public_key", hs.push_delivery.vapid().public_key_base64url()},
                              {"gateway_url", hs.config.public_baseurl.empty() ? std::string(kGatewayPath) : gateway_url(hs)}});
  });
}

}  // namespace lotse::api
