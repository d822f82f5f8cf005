// Counters and histograms for GET /metrics (Prometheus text format). Only route templates, status
// codes and totals are recorded: never user ids, room ids or anything from a request's content.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace lotse {

class Histogram {
 public:
  // Upper bounds of the buckets; the default suits durations in seconds.
  explicit Histogram(std::vector<double> bounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5, 30})
      : bounds_(std::move(bounds)), counts_(bounds_.size()) {}
  void observe(double value);
  // Appends the _bucket, _sum and _count lines; `labels` is e.g. `route="/sync",` (may be empty).
  void render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

class Metrics {
 public:
  void request(std::string_view method, std::string_view route, unsigned status, std::chrono::microseconds took);
  void rate_limited(std::string_view limiter) { ++rate_limited_[std::string(limiter)]; }
  void commit(std::size_t units, std::chrono::microseconds took);
  void wal_sync() { ++wal_syncs_; }  // one fdatasync of the WAL by the sync thread
  void connection_refused() { ++connections_refused_; }

  std::int64_t sync_waiting = 0;  // /sync long-polls waiting right now

  // Everything recorded here, as Prometheus text (HELP/TYPE lines included).
  std::string render() const;
  // Helpers for gauges computed at scrape time.
  static void gauge(std::string& out, std::string_view name, std::string_view help, double value,
                    std::string_view labels = "");

 private:
  std::map<std::tuple<std::string, std::string, unsigned>, std::uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  std::map<std::string, std::uint64_t> rate_limited_;
  std::uint64_t commits_ = 0, committed_units_ = 0, connections_refused_ = 0, wal_syncs_ = 0;
  Histogram commit_latency_, commit_batch_{{1, 2, 4, 8, 16, 32, 64, 128, 256, 1024}};
};

}  // namespace lotse
