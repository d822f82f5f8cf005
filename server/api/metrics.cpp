// GET /metrics: Prometheus text on its own listener ([metrics] listen_address/listen_port), never
// on the public port. Request counters come from the HTTP server, the rest is read at scrape time.
#include "server/api/common.hpp"
#include "server/core/instance_figures.hpp"
#include "server/http/server.hpp"
#include "server/metrics.hpp"

namespace lotse::api {

void register_metrics_routes(http::Router& router, Homeserver& hs, const http::HttpServer& public_server) {
  raw_route(router, verb::get, "/metrics", [&hs, &public_server](Request&) -> awaitable<Response> {
    std::string out = hs.metrics.render();
    auto f = core::instance_figures(hs.db);
    out += "# HELP lotse_users Active accounts by role.\n# TYPE lotse_users gauge\n";
    for (const auto& [role, n] : f.users_by_role) out += "lotse_users{role=\"" + role + "\"} " + std::to_string(n) + "\n";
    Metrics::gauge(out, "lotse_consultations_open", "Open consultations.", static_cast<double>(f.open_consultations));
    Metrics::gauge(out, "lotse_database_bytes", "Size of the database's pages in use.", static_cast<double>(f.database_bytes));
    Metrics::gauge(out, "lotse_media_bytes", "Bytes of stored media files (uploads and thumbnails).",
                   static_cast<double>(f.media_bytes));
    Metrics::gauge(out, "lotse_http_open_connections", "Open client connections on the public listener.",
                   static_cast<double>(public_server.open_connections()));
    const auto& push = hs.push_delivery.stats();
    out += "# HELP lotse_push_deliveries_total Web Push deliveries by outcome.\n# TYPE lotse_push_deliveries_total counter\n";
    for (const auto& [outcome, n] : {std::pair{"delivered", push.delivered}, std::pair{"failed", push.failed},
                                     std::pair{"dropped", push.dropped}, std::pair{"subscription_gone", push.removed},
                                     std::pair{"retried", push.retried}})
      out += "lotse_push_deliveries_total{outcome=\"" + std::string(outcome) + "\"} " + std::to_string(n) + "\n";
    Metrics::gauge(out, "lotse_push_in_flight", "Web Push deliveries queued or running.", static_cast<double>(push.in_flight));
    Response res;
    res.body = std::move(out);
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    co_return res;
  });
}

}  // namespace lotse::api
