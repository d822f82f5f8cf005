// The built-in push gateway: delivers notifying events to the browsers of the user's pushers by Web
// Push (RFC 8030 with RFC 8291 encryption and RFC 8292 VAPID). Each delivery (one event, one
// pusher) runs as its own coroutine on a thread of its own, after the event's commit: encryption,
// TLS and slow or dead push services never delay a send; at most 64 requests run at once. The
// database is touched only on the network thread. Only
// event-id-only data goes out (room id, event id, unread count), encrypted for the browser.
// A push service's 404/410 removes the pusher; 429 and 5xx are retried with back-off; a pusher
// removed meanwhile gets nothing more.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <string>
#include <thread>
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
  ~PushDelivery();
  PushDelivery(const PushDelivery&) = delete;
  PushDelivery& operator=(const PushDelivery&) = delete;

  // The Notifications sink, on the network thread: reads the recipients' pushers and unread counts,
  // then hands each delivery to the push thread. The sender never waits for any of it.
  void enqueue(std::vector<core::PushJob> jobs);
  // Stops the push thread (at shutdown, before the network thread's io_context goes).
  void stop();

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
  Stats stats() const;

 private:
  // On the push thread: one delivery (spawned, so by value); its attempts, awaited with references
  // to its values (no temporaries in co_await expressions, GCC PR 100611).
  boost::asio::awaitable<void> send(core::Pusher pusher, std::string body);
  boost::asio::awaitable<void> send_with_retries(const core::Pusher& pusher, const std::string& body);
  const std::string& vapid_header(const std::string& origin);
  // On the network thread (the database's): whether the pusher still exists; removing it.
  boost::asio::awaitable<bool> still_registered(const core::Pusher& pusher);
  boost::asio::awaitable<void> remove_pusher(const core::Pusher& pusher, const char* why);

  boost::asio::io_context& io_;  // the network thread's
  store::Database& db_;
  core::Pushers& pushers_;
  core::Notifications& notifications_;
  const config::Config& config_;
  VapidKey vapid_;
  struct AtomicStats {
    std::atomic<std::uint64_t> delivered{0}, failed{0}, dropped{0}, removed{0}, retried{0};
    std::atomic<std::int64_t> in_flight{0};
  } stats_;
  std::chrono::steady_clock::time_point last_drop_log_{};  // network thread
  struct Outgoing {
    core::Pusher pusher;
    std::string body;
  };
  std::vector<Outgoing> outgoing_;  // network thread: deliveries not yet handed to the push thread
  bool handoff_posted_ = false;
  // Push thread only:
  HttpsClient client_;
  std::int64_t connections_ = 0;
  std::unordered_map<std::string, int> refusals_;  // consecutive permanent refusals per pusher
  std::unordered_map<std::string, std::pair<std::string, std::int64_t>> vapid_cache_;  // origin -> (header, made at)
  // Declared last: destroyed first, with the coroutine frames still pending on it.
  boost::asio::io_context push_io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> push_work_;
  std::thread push_thread_;
};

}  // namespace lotse::push
