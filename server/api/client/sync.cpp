// GET /sync: computes the response, and when there is nothing new long-polls until something for the
// user commits or the timeout passes.
#include "server/api/common.hpp"
#include "server/core/ignored_users.hpp"

#include <chrono>

namespace lotse::api {
namespace {

constexpr std::int64_t kMaxTimeoutMs = 5 * 60 * 1000;

core::SyncFilter resolve_filter(Homeserver& hs, const std::string& user_id, const std::optional<std::string>& param) {
  if (!param || param->empty()) return {};
  std::string text;
  if ((*param)[0] == '{') {
    text = *param;
  } else {
    auto stored = hs.filters.load(user_id, *param);
    if (!stored) throw http::not_found("Unknown filter " + *param);
    text = *stored;
  }
  return core::parse_sync_filter(parse_filter_param(text));
}

awaitable<Response> get_sync(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  core::SyncRequest req;
  req.viewer = core::Viewer{auth.user_id, auth.device_id};
  if (auto since = r.query_param("since"); since && !since->empty()) {
    req.since = core::SyncToken::parse(*since);
    if (!req.since) throw http::invalid_param("Invalid since token.");
  }
  req.filter = resolve_filter(hs, auth.user_id, r.query_param("filter"));
  req.full_state = r.query_param("full_state") == "true";
  req.ignored = core::ignored_users(hs.account_data, auth.user_id);
  hs.presence.synced(auth.user_id, r.query_param("set_presence").value_or("online"));
  std::int64_t timeout_ms = 0;
  if (auto t = r.query_param("timeout")) {
    try {
      timeout_ms = std::clamp<std::int64_t>(std::stoll(*t), 0, kMaxTimeoutMs);
    } catch (...) {
      throw http::invalid_param("timeout must be an integer");
    }
  }
  // The client has seen every to-device message up to its token: delete them (made durable with the
  // next commit; if lost, a retry with the same token deletes them again).
  if (req.since && req.since->to_device > 0) {
    store::WriteUnit unit(hs.db);
    hs.to_device.acknowledge(unit, auth.user_id, auth.device_id, req.since->to_device);
    unit.release();
    hs.db.commit_soon();
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto result = hs.sync.compute(req);
  // Only an incremental sync waits; the computation and the wait registration happen without a
  // suspension in between, so no commit can slip past unnoticed.
  while (req.since && result.empty && !req.full_state && !hs.stopping) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    result.body = {};  // recomputed after the wait; a waiting poll keeps only its request
    ++hs.metrics.sync_waiting;
    co_await hs.notifier.wait(auth.user_id, left);
    --hs.metrics.sync_waiting;  // the wait never throws: it ends by timeout or notification
    result = hs.sync.compute(req);
  }
  co_return Response::json(result.body);
}

}  // namespace

void register_sync_routes(http::Router& router, Homeserver& hs) {
  client_route(router, verb::get, "/sync", [&hs](Request& r) { return get_sync(hs, r); });
}

}  // namespace lotse::api
