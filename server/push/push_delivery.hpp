// The built-in push gateway: delivers notifying events to the browsers of the user's pushers by Web
// Push (RFC 8030 with RFC 8291 encryption and RFC 8292 VAPID). Each delivery (one event, one
// pusher) runs as its own coroutine after the event's commit, so a slow or dead push service never
// delays a send; at most 64 requests to push services run at once. Only
// event-id-only data goes out (room id, event id, unread count), encrypted for the browser.
// A push service's 404/410 removes the pusher; 429 and 5xx are retried with back-off; a pusher
// removed meanwhile gets nothing more.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <string>
#include <vector>

#include "server/config/config.hpp"
#include "server/core/notifications.hpp"
#include "server/core/pushers.hpp"
#include "server/push/https_client.hpp"
#include "server/push/web_push.hpp"
#include "server/store/database.hpp"

namespace lotse::push {

class PushDelivery {
 public:
  PushDelivery(boost::asio::io_context& io, store::Database& db, core::Pushers& pushers,
               core::Notifications& notifications, const config::Config& config);

  // The Notifications sink: one delivery per job, started at once, never awaited by the sender.
  void enqueue(std::vector<core::PushJob> jobs);

  const VapidKey& vapid() const { return vapid_; }
  // Why a subscription endpoint is refused (not https, or a host not in [push] endpoint_hosts);
  // nullopt when it is acceptable.
  std::optional<std::string> endpoint_refusal(const std::string& endpoint) const;
  // The payload for a job, as the browser's service worker receives it.
  static std::string payload(const core::PushJob& job, std::int64_t unread);

  struct Stats {
    std::uint64_t delivered = 0, failed = 0, dropped = 0, removed = 0, retried = 0;
    std::int64_t in_flight = 0;
  };
  const Stats& stats() const { return stats_; }
  // Back-off before retry n (1-based): 1 s, 2 s, 4 s, 8 s (tests shorten it).
  void set_retry_base(std::chrono::milliseconds base) { retry_base_ = base; }

 private:
  // One delivery (spawned, so by value); its attempts, awaited with references to its values.
  boost::asio::awaitable<void> send(core::Pusher pusher, std::string body);
  boost::asio::awaitable<void> send_with_retries(const core::Pusher& pusher, const std::string& body);
  boost::asio::awaitable<void> remove_pusher(const core::Pusher& pusher, const char* why);

  boost::asio::io_context& io_;
  store::Database& db_;
  core::Pushers& pushers_;
  core::Notifications& notifications_;
  const config::Config& config_;
  VapidKey vapid_;
  HttpsClient client_;
  Stats stats_;
  std::chrono::milliseconds retry_base_{1000};
  std::chrono::steady_clock::time_point last_drop_log_{};
  std::int64_t connections_ = 0;
  std::unordered_map<std::string, int> refusals_;  // consecutive permanent refusals per pusher
};

}  // namespace lotse::push
