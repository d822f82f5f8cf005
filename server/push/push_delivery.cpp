// The built-in push gateway's delivery; see push_delivery.hpp.
#include "server/push/push_delivery.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <map>

#include <pthread.h>

#include "server/log.hpp"

namespace lotse::push {
namespace asio = boost::asio;

namespace {
constexpr int kMaxAttempts = 5;
constexpr std::int64_t kMaxConnections = 64;  // concurrent requests to push services
constexpr int kMaxRefusals = 10;             // consecutive permanent refusals before a pusher goes
constexpr std::chrono::milliseconds kRetryBase{1000};  // back-off: 1, 2, 4, 8 s

bool host_allowed(const std::string& host, const std::vector<std::string>& allowed) {
  for (const auto& a : allowed) {
    if (a == host) return true;
    if (a.size() > 1 && a[0] == '.' && host.size() > a.size() && host.compare(host.size() - a.size(), a.size(), a) == 0)
      return true;
  }
  return false;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

PushDelivery::PushDelivery(asio::io_context& io, store::Database& db, core::Pushers& pushers,
                           core::Notifications& notifications, const config::Config& config)
    : io_(io),
      db_(db),
      pushers_(pushers),
      notifications_(notifications),
      config_(config),
      vapid_(VapidKey::load_or_create(config.data_dir + "/push-vapid.pem")),
      client_(config.push.ca_file, config.push.allow_private_endpoints),
      push_work_(boost::asio::make_work_guard(push_io_)),
      push_thread_([this] {
        pthread_setname_np(pthread_self(), "lotse-push");  // so top -H and the push bench can tell it apart
        push_io_.run();
      }) {}

PushDelivery::~PushDelivery() {
  stop();
  client_.close_idle();  // push_io_, declared after client_, is destroyed first (found by the ASan build)
}

void PushDelivery::stop() {
  push_work_.reset();
  push_io_.stop();
  if (push_thread_.joinable()) push_thread_.join();
}

PushDelivery::Stats PushDelivery::stats() const {
  return {stats_.delivered.load(), stats_.failed.load(), stats_.dropped.load(), stats_.removed.load(),
          stats_.retried.load(), stats_.in_flight.load()};
}

std::optional<std::string> PushDelivery::endpoint_refusal(const std::string& endpoint) const {
  auto url = parse_https_url(endpoint);
  if (!url) return "the push endpoint must be an https:// URL";
  if (!host_allowed(url->host, config_.push.endpoint_hosts))
    return "push service " + url->host + " is not one this server delivers to";
  if (url->port != "443" && !config_.push.allow_private_endpoints) return "push services are reached on port 443 only";
  return std::nullopt;
}

std::string PushDelivery::payload(const core::PushJob& job, std::int64_t unread) {
  // What a push service or anyone glancing at the phone could learn is nothing but that something
  // arrived; the service worker shows a neutral text and opens the room on click.
  return boost::json::serialize(boost::json::object{
      {"room_id", job.room_id}, {"event_id", job.event_id}, {"unread", unread}, {"prio", job.highlight ? "high" : "low"}});
}

void PushDelivery::enqueue(std::vector<core::PushJob> jobs) {
  if (!config_.push.enabled) return;
  for (const auto& job : jobs) {
    const auto& pushers = pushers_.of_user(job.user_id);  // most recipients have none: nothing is started for them
    if (pushers.empty()) continue;
    auto body = payload(job, notifications_.unread_total(job.user_id));
    for (const auto& p : pushers) {
      if (stats_.in_flight.load() >= config_.push.max_in_flight) {
        ++stats_.dropped;
        auto now = std::chrono::steady_clock::now();
        if (now - last_drop_log_ > std::chrono::seconds(10)) {
          last_drop_log_ = now;
          log_line("warn", "push deliveries dropped: too many in flight (raise [push] max_in_flight or check the push services)",
                   {{"in_flight", stats_.in_flight.load()}, {"dropped_total", stats_.dropped.load()}});
        }
        continue;
      }
      ++stats_.in_flight;
      outgoing_.push_back({p, body});
    }
  }
  // Handed over once per turn of the network thread (a group commit wakes many senders, each with
  // its notifications): one wake-up of the push thread for all of them.
  if (outgoing_.empty() || handoff_posted_) return;
  handoff_posted_ = true;
  asio::post(io_, [this] {
    handoff_posted_ = false;
    asio::post(push_io_, [this, batch = std::move(outgoing_)]() mutable {
      for (auto& d : batch) asio::co_spawn(push_io_, send(std::move(d.pusher), std::move(d.body)), asio::detached);
    });
    outgoing_.clear();
  });
}

namespace {
// Counts a value up for the lifetime of a scope (also when a suspended coroutine is destroyed).
template <typename N>
struct CountedIn {
  explicit CountedIn(N& n) : n_(n) { ++n_; }
  ~CountedIn() { --n_; }
  CountedIn(const CountedIn&) = delete;
  CountedIn& operator=(const CountedIn&) = delete;
  N& n_;
};
}  // namespace

asio::awaitable<void> PushDelivery::send(core::Pusher pusher, std::string body) {
  --stats_.in_flight;  // counted in enqueue, now by the guard
  CountedIn<std::atomic<std::int64_t>> flight(stats_.in_flight);
  try {
    co_await send_with_retries(pusher, body);
  } catch (const std::exception& e) {
    ++stats_.failed;
    log_line("error", "push delivery failed", {{"error", e.what()}});
  }
}

asio::awaitable<void> PushDelivery::send_with_retries(const core::Pusher& pusher, const std::string& body) {
  auto* endpoint = pusher.data.if_contains("endpoint");
  auto* auth = pusher.data.if_contains("auth");
  if (!endpoint || !endpoint->is_string() || !auth || !auth->is_string()) co_return;  // not a Web Push pusher
  std::string url_text(endpoint->get_string());
  auto url = parse_https_url(url_text);
  if (!url || endpoint_refusal(url_text)) co_return;  // the allow-list changed since it was registered
  std::string encrypted;
  try {
    // The key was checked in full when the pusher was registered (pushers/set).
    encrypted = encrypt_aes128gcm(body, base64url_decode(pusher.pushkey), base64url_decode(auth->get_string()), true);
  } catch (const WebPushError& e) {
    ++stats_.failed;
    log_line("warn", "push subscription unusable", {{"app_id", pusher.app_id}, {"error", e.what()}});
    co_return;
  }
  const std::string key = pusher.user_id + '\n' + pusher.app_id + '\n' + pusher.pushkey;
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    // Gone since (logout, a hand-over of the phone): nothing more goes to it, not even a retry.
    if (attempt > 1) {
      auto check = still_registered(pusher);
      bool registered = co_await asio::co_spawn(io_, std::move(check), asio::use_awaitable);
      if (!registered) co_return;
    }
    asio::steady_timer wait_for_slot(push_io_);
    while (connections_ >= kMaxConnections) {
      wait_for_slot.expires_after(std::chrono::milliseconds(20));
      co_await wait_for_slot.async_wait(asio::use_awaitable);
    }
    std::map<std::string, std::string> headers{
        {"Content-Type", "application/octet-stream"},
        {"Content-Encoding", "aes128gcm"},
        {"TTL", "86400"},
        {"Urgency", "high"},
        {"Authorization", vapid_header(url->origin())}};
    std::optional<HttpsReply> reply;
    std::string error;
    try {
      CountedIn<std::int64_t> connection(connections_);
      reply = co_await client_.post(*url, headers, encrypted, std::chrono::seconds(10));
    } catch (const HttpsError& e) {
      error = e.what();
    }
    if (reply && reply->status >= 200 && reply->status < 300) {
      ++stats_.delivered;
      refusals_.erase(key);
      co_return;
    }
    if (reply && (reply->status == 404 || reply->status == 410)) {
      auto removal = remove_pusher(pusher, "push subscription gone at the push service: pusher removed");
      co_await asio::co_spawn(io_, std::move(removal), asio::use_awaitable);
      co_return;
    }
    bool retryable = !reply || reply->status == 429 || reply->status >= 500;
    if (!retryable || attempt == kMaxAttempts) {
      ++stats_.failed;
      log_line("warn", "push not delivered",
               {{"push_service", url->host}, {"status", reply ? reply->status : 0}, {"error", error},
                {"attempts", attempt}});
      // Refused for good again and again (e.g. 403 after the VAPID key was lost): the pusher goes.
      if (reply && !retryable && ++refusals_[key] >= kMaxRefusals) {
        refusals_.erase(key);
        auto removal = remove_pusher(pusher, "push service keeps refusing: pusher removed");
        co_await asio::co_spawn(io_, std::move(removal), asio::use_awaitable);
      }
      co_return;
    }
    ++stats_.retried;
    auto wait = kRetryBase * (1 << (attempt - 1));
    if (reply && reply->retry_after_seconds)
      wait = std::max<std::chrono::milliseconds>(wait, std::chrono::seconds(std::min<std::int64_t>(*reply->retry_after_seconds, 600)));
    asio::steady_timer timer(push_io_, wait);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<bool> PushDelivery::still_registered(const core::Pusher& pusher) {
  co_return pushers_.exists(pusher.user_id, pusher.app_id, pusher.pushkey);
}

const std::string& PushDelivery::vapid_header(const std::string& origin) {
  // One signed token per push service for an hour (valid for 12): no signature per push.
  auto now = unix_now();
  auto& [header, made] = vapid_cache_[origin];
  if (header.empty() || now - made > 3600) {
    header = vapid_.authorization(origin, config_.push.vapid_subject, now + 12 * 3600);
    made = now;
  }
  return header;
}

asio::awaitable<void> PushDelivery::remove_pusher(const core::Pusher& pusher, const char* why) {
  {
    store::WriteUnit unit(db_);
    pushers_.remove(unit, pusher.user_id, pusher.app_id, pusher.pushkey);
    unit.release();
  }
  co_await db_.commit();
  ++stats_.removed;
  log_line("info", why, {{"app_id", pusher.app_id}});
}

}  // namespace lotse::push
