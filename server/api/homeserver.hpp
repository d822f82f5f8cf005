// Everything a request handler may use: configuration, storage, the domain services, limits.
#pragma once
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>

#include "e2ee/crypto.hpp"
#include "server/config/config.hpp"
#include "server/core/login_backoff.hpp"
#include "server/core/account_data.hpp"
#include "server/core/accounts.hpp"
#include "server/core/filters.hpp"
#include "server/core/imports.hpp"
#include "server/core/key_backup.hpp"
#include "server/core/keys.hpp"
#include "server/core/consultation_rooms.hpp"
#include "server/core/room_aliases.hpp"
#include "server/core/counseling.hpp"
#include "server/core/data_protection.hpp"
#include "server/core/media.hpp"
#include "server/core/notifications.hpp"
#include "server/core/pushers.hpp"
#include "server/core/email_digests.hpp"
#include "server/push/email_digest.hpp"
#include "server/push/push_delivery.hpp"
#include "server/core/policy.hpp"
#include "server/core/to_device.hpp"
#include "server/core/notifier.hpp"
#include "server/core/passwords.hpp"
#include "server/core/receipts.hpp"
#include "server/core/rooms.hpp"
#include "server/core/sync.hpp"
#include "server/core/presence.hpp"
#include "server/core/typing.hpp"
#include "server/http/rate_limiter.hpp"
#include "server/http/router.hpp"
#include "server/metrics.hpp"
#include "server/store/database.hpp"

namespace lotse::http {
class HttpServer;
}

namespace lotse::api {

struct Homeserver {
  Homeserver(boost::asio::io_context& io, config::Config cfg, e2ee::SigningKey key);

  boost::asio::io_context& io;
  config::Config config;
  e2ee::SigningKey signing_key;
  boost::asio::thread_pool blocking_pool{2};  // argon2 hashing, off the network thread
  store::Database db;
  core::Notifier notifier;
  core::Accounts accounts;
  core::Rooms rooms;
  core::AccountData account_data;
  core::Receipts receipts;
  core::Typing typing;
  core::Presence presence;
  core::Filters filters;
  core::Keys keys;
  core::ToDevice to_device;
  core::KeyBackup key_backup;
  core::Media media;
  core::Counseling counseling;
  core::Policy policy;
  core::ConsultationRooms consultation_rooms;
  core::RoomAliases room_aliases;
  core::DataProtection data_protection;
  core::Imports imports;
  core::Notifications notifications;
  core::Pushers pushers;
  push::PushDelivery push_delivery;  // the built-in Web Push gateway (VAPID key in data_dir)
  core::EmailDigests email_digests;
  push::EmailDigest email_digest;    // [email]: digests of unread messages, never content
  core::Sync sync;
  http::RateLimiter register_limiter;
  http::RateLimiter login_limiter;
  core::LoginBackoff login_backoff;  // per account, after failed passwords
  http::RateLimiter message_limiter;
  http::RateLimiter media_limiter;
  Metrics metrics;
  bool stopping = false;  // set on SIGTERM: long-polls return at once

  std::string service_user_id() const { return "@" + config.counseling.service_user + ":" + config.server_name; }
  // Creates the service user on first start; writes data_dir/admin-bootstrap.token while no admin exists.
  void prepare_instance();
  // Housekeeping on the network thread: notification decisions older than 30 days go (every 6 h);
  // e-mail digests when [email] is configured.
  void start_background_tasks();

  core::PasswordCost password_cost() const {
    return config.security.password_hash == "minimal" ? core::PasswordCost::minimal : core::PasswordCost::interactive;
  }

  // Runs `fn` on the blocking pool and resumes the caller on the network thread with its result.
  // Pass a named lambda: GCC 12 destroys non-trivial temporaries of a co_await expression twice
  // (GCC PR 100611), so callers must not build the lambda inside the co_await.
  template <typename F>
  auto run_blocking(F& fn) -> boost::asio::awaitable<decltype(fn())> {
    using R = decltype(fn());
    return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(std::exception_ptr, R)>(
        BlockingCall<F, R>{&blocking_pool, io.get_executor(), std::make_shared<F>(fn)},
        boost::asio::use_awaitable);
  }

 private:
  template <typename F, typename R>
  struct BlockingCall {
    boost::asio::thread_pool* pool;
    boost::asio::any_io_executor home;
    std::shared_ptr<F> fn;
    template <typename Handler>
    void operator()(Handler&& handler) {
      boost::asio::post(*pool, [h = std::forward<Handler>(handler), fn = fn, home = home]() mutable {
        std::exception_ptr error;
        R result{};
        try {
          result = (*fn)();
        } catch (...) {
          error = std::current_exception();
        }
        boost::asio::post(home, [h = std::move(h), error, result = std::move(result)]() mutable {
          std::move(h)(error, std::move(result));
        });
      });
    }
  };
};

// Registers every route of the client-server API and the operational endpoints.
void register_routes(http::Router& router, Homeserver& hs);
// GET /metrics, for the separate metrics listener (server/api/metrics.cpp).
void register_metrics_routes(http::Router& router, Homeserver& hs, const http::HttpServer& public_server);

}  // namespace lotse::api
