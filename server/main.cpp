// lotse: config -> store -> services -> http, nothing else.
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <CLI/CLI.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "server/api/homeserver.hpp"
#include "server/config/config.hpp"
#include "server/crash_report.hpp"
#include "server/log.hpp"
#include "server/http/server.hpp"
#include "server/signing_key_file.hpp"

namespace {
// An io_context whose pending handlers can be destroyed on purpose (see main).
struct IoContext : boost::asio::io_context {
  using io_context::io_context;
  using io_context::shutdown;
};

// Raises the soft descriptor limit to the hard one and returns how many connections fit beside the
// descriptors the server needs for itself (database, media files, uploads, the thumbnailer).
std::int64_t usable_descriptors() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1024 - 256;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
    ::getrlimit(RLIMIT_NOFILE, &lim);
  }
  auto n = lim.rlim_cur == RLIM_INFINITY ? std::int64_t{1} << 20 : static_cast<std::int64_t>(lim.rlim_cur);
  return std::max<std::int64_t>(16, n - 256);
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Lotse: a confidential counseling homeserver speaking the Matrix client-server API"};
  std::string config_path;
  app.add_option("-c,--config", config_path, "TOML configuration file of this instance")->required();
  app.set_version_flag("--version", "lotse 0.1.0");
  CLI11_PARSE(app, argc, argv);

  using lotse::log_line;
  bool crash_report = lotse::install_crash_report();
  lotse::config::Config cfg;
  try {
    cfg = lotse::config::load_config(config_path);
  } catch (const lotse::config::ConfigError& e) {
    std::fprintf(stderr, "lotse: invalid configuration: %s\n", e.what());
    return 2;
  }

  try {
    lotse::e2ee::init_crypto();
    std::filesystem::create_directories(cfg.data_dir);
    auto key = lotse::load_or_create_signing_key(cfg.data_dir);

    IoContext io(1);
    lotse::api::Homeserver hs(io, cfg, std::move(key));
    hs.prepare_instance();
    hs.start_background_tasks();
    lotse::http::Router router;
    lotse::api::register_routes(router, hs);
    lotse::http::ServerLimits limits;
    limits.max_body_bytes = cfg.limits.max_request_body;
    limits.max_upload_bytes = cfg.media.max_upload_size;
    limits.upload_dir = hs.media.upload_dir();
    limits.max_connections = static_cast<std::size_t>(std::min<std::int64_t>(cfg.http.max_connections, usable_descriptors()));
    limits.max_connections_per_ip = static_cast<std::size_t>(cfg.http.max_connections_per_ip);
    limits.trusted_proxies = cfg.http.trusted_proxies;
    lotse::http::HttpServer server(io, router, limits);
    server.set_metrics(&hs.metrics);
    hs.db.set_metrics(&hs.metrics);
    hs.db.sync_in_background();
    auto port = server.listen(cfg.listen_address, cfg.listen_port);
    // /metrics on a listener of its own (never the public port), when enabled.
    lotse::http::Router metrics_router;
    lotse::api::register_metrics_routes(metrics_router, hs, server);
    lotse::http::ServerLimits metrics_limits;
    metrics_limits.max_connections = 64;
    metrics_limits.max_connections_per_ip = 64;
    metrics_limits.cors = false;  // no web page may read it
    lotse::http::HttpServer metrics_server(io, metrics_router, metrics_limits);
    int metrics_port = -1;
    if (cfg.metrics.enabled) metrics_port = metrics_server.listen(cfg.metrics.listen_address, cfg.metrics.listen_port);

    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    boost::asio::steady_timer drain(io);
    // Destroys what is still pending at the end (coroutine frames of kept-alive connections, waits)
    // while the server, router and homeserver they refer to still exist: ~io_context would do it
    // only after they are gone (a use after free, found by the ASan build).
    struct ShutdownFirst {
      IoContext& io;
      ~ShutdownFirst() { io.shutdown(); }
    } shutdown_first{io};
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      log_line("info", "shutting down", {{"signal", sig}});
      server.stop();
      metrics_server.stop();
      hs.stopping = true;
      hs.notifier.notify_all();
      // Let in-flight requests finish their commit, then stop.
      drain.expires_after(std::chrono::milliseconds(200));
      drain.async_wait([&](const boost::system::error_code&) {
        hs.push_delivery.stop();  // its thread must not post to this io_context once that is gone
        hs.db.stop_background_sync();  // nor the WAL's sync thread; commits what is left
        // A moment for the answers to the commits it released, then stop.
        drain.expires_after(std::chrono::milliseconds(100));
        drain.async_wait([&](const boost::system::error_code&) { io.stop(); });
      });
    });

    log_line("info", "lotse started",
             {{"server_name", cfg.server_name},
              {"listen", cfg.listen_address + ":" + std::to_string(port)},
              {"data_dir", std::filesystem::absolute(cfg.data_dir).string()},
              {"signing_key", hs.signing_key.key_id()},
              {"registration", cfg.registration.enabled},
              {"admin_bootstrap_pending", hs.accounts.users_with_role("admin").empty()},
              {"rate_limits", cfg.rate_limits.enabled},
              {"max_connections", limits.max_connections},
              {"crash_backtraces", crash_report},
              {"metrics", metrics_port < 0 ? std::string("off") : cfg.metrics.listen_address + ":" + std::to_string(metrics_port)},
              {"trusted_proxies", cfg.http.trusted_proxies.size()}});
    io.run();
    log_line("info", "lotse stopped");
    return 0;
  } catch (const std::exception& e) {
    log_line("error", "start-up failed", {{"error", e.what()}});
    return 1;
  }
}
