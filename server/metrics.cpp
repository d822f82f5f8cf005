// Prometheus text rendering of the server's counters (see metrics.hpp).
#include "server/metrics.hpp"

#include <cstdio>

namespace lotse {
namespace {
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
// Label values are route templates and names we chose; escape anyway.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') { out += "\\n"; continue; }
    out += c;
  }
  return out;
}
}  // namespace

void Histogram::observe(double value) {
  for (std::size_t i = 0; i < bounds_.size(); ++i)
    if (value <= bounds_[i]) ++counts_[i];
  ++count_;
  sum_ += value;
}

void Histogram::render(std::string& out, std::string_view name, std::string_view labels) const {
  for (std::size_t i = 0; i < bounds_.size(); ++i)
    out += std::string(name) + "_bucket{" + std::string(labels) + "le=\"" + number(bounds_[i]) + "\"} " +
           std::to_string(counts_[i]) + "\n";
  out += std::string(name) + "_bucket{" + std::string(labels) + "le=\"+Inf\"} " + std::to_string(count_) + "\n";
  std::string plain(labels);
  if (!plain.empty() && plain.back() == ',') plain.pop_back();
  std::string braces = plain.empty() ? "" : "{" + plain + "}";
  out += std::string(name) + "_sum" + braces + " " + number(sum_) + "\n";
  out += std::string(name) + "_count" + braces + " " + std::to_string(count_) + "\n";
}

void Metrics::request(std::string_view method, std::string_view route, unsigned status, std::chrono::microseconds took) {
  ++requests_[{std::string(method), std::string(route), status}];
  latency_[std::string(route)].observe(std::chrono::duration<double>(took).count());
}

void Metrics::commit(std::size_t units, std::chrono::microseconds took) {
  ++commits_;
  committed_units_ += units;
  commit_latency_.observe(std::chrono::duration<double>(took).count());
  commit_batch_.observe(static_cast<double>(units));
}

void Metrics::gauge(std::string& out, std::string_view name, std::string_view help, double value,
                    std::string_view labels) {
  out += "# HELP " + std::string(name) + " " + std::string(help) + "\n# TYPE " + std::string(name) + " gauge\n";
  out += std::string(name) + (labels.empty() ? "" : "{" + std::string(labels) + "}") + " " + number(value) + "\n";
}

std::string Metrics::render() const {
  std::string out;
  out += "# HELP lotse_http_requests_total HTTP requests by method, route template and status.\n"
         "# TYPE lotse_http_requests_total counter\n";
  for (const auto& [k, n] : requests_)
    out += "lotse_http_requests_total{method=\"" + label(std::get<0>(k)) + "\",route=\"" + label(std::get<1>(k)) +
           "\",status=\"" + std::to_string(std::get<2>(k)) + "\"} " + std::to_string(n) + "\n";
  out += "# HELP lotse_http_request_duration_seconds Time from the request's header to its answer, by route template.\n"
         "# TYPE lotse_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) h.render(out, "lotse_http_request_duration_seconds", "route=\"" + label(route) + "\",");
  out += "# HELP lotse_rate_limited_total Requests refused by a rate limit, by limit.\n"
         "# TYPE lotse_rate_limited_total counter\n";
  for (const auto& [name, n] : rate_limited_)
    out += "lotse_rate_limited_total{limit=\"" + label(name) + "\"} " + std::to_string(n) + "\n";
  out += "# HELP lotse_connections_refused_total Connections closed at once by the connection caps.\n"
         "# TYPE lotse_connections_refused_total counter\nlotse_connections_refused_total " +
         std::to_string(connections_refused_) + "\n";
  out += "# HELP lotse_db_commits_total Group commits (each one SQLite COMMIT, its requests answered once it is on disk).\n"
         "# TYPE lotse_db_commits_total counter\nlotse_db_commits_total " + std::to_string(commits_) + "\n";
  out += "# HELP lotse_db_wal_syncs_total fdatasyncs of the WAL by its sync thread (one covers every commit made while the last ran).\n"
         "# TYPE lotse_db_wal_syncs_total counter\nlotse_db_wal_syncs_total " + std::to_string(wal_syncs_) + "\n";
  out += "# HELP lotse_db_committed_waiters_total Awaited writes made durable by the group commits.\n"
         "# TYPE lotse_db_committed_waiters_total counter\nlotse_db_committed_waiters_total " +
         std::to_string(committed_units_) + "\n";
  out += "# HELP lotse_db_commit_duration_seconds Duration of one group commit.\n"
         "# TYPE lotse_db_commit_duration_seconds histogram\n";
  commit_latency_.render(out, "lotse_db_commit_duration_seconds", "");
  out += "# HELP lotse_db_commit_batch_size Awaited writes per group commit.\n# TYPE lotse_db_commit_batch_size histogram\n";
  commit_batch_.render(out, "lotse_db_commit_batch_size", "");
  gauge(out, "lotse_sync_waiting", "/sync long-polls waiting for something new.", static_cast<double>(sync_waiting));
  return out;
}

}  // namespace lotse
