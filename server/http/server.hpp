// The HTTP/1.1 listener: Beast connections as coroutines, request limits, CORS, access log.
#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/http/router.hpp"
#include "server/metrics.hpp"

namespace lotse::http {

struct ServerLimits {
  std::uint64_t max_body_bytes = 1 << 20;     // JSON request bodies, held in memory
  std::uint64_t max_upload_bytes = 50 << 20;  // streaming routes (media), written to upload_dir
  std::string upload_dir = "/tmp";
  std::uint32_t read_timeout_seconds = 60;
  // Open connections in all and per client address (peers in trusted_proxies are not counted per
  // address: behind a proxy every connection comes from it). At the total, the connection that has
  // idled longest in keep-alive is closed to make room; with none idle, the new one is refused.
  std::size_t max_connections = 20000;
  std::size_t max_connections_per_ip = 512;
  std::vector<std::string> trusted_proxies;  // X-Forwarded-For is honoured only from these
  bool cors = true;                          // Access-Control-Allow-* headers (off for /metrics)
};

// An address in one form for comparisons (IPv4-mapped IPv6 as IPv4).
std::string canonical_ip(const std::string& ip);

// Logs at most once per interval, counting what it held back (for errors an attacker can repeat).
class LogThrottle {
 public:
  explicit LogThrottle(std::chrono::seconds interval) : interval_(interval) {}
  // True when a line may be written now; `suppressed` is how many were held back since the last one.
  bool allow(std::uint64_t& suppressed);

 private:
  std::chrono::seconds interval_;
  std::chrono::steady_clock::time_point next_{};
  std::uint64_t held_ = 0;
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, const Router& router, ServerLimits limits);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  // Binds and starts accepting; throws on bind failure. Returns the bound port.
  unsigned short listen(const std::string& address, unsigned short port);
  void stop();
  std::size_t open_connections() const { return open_; }
  // Counts requests and refused connections into `m` (GET /metrics); optional.
  void set_metrics(Metrics* m) { metrics_ = m; }

 private:
  struct Connection;  // one open connection's bookkeeping (server.cpp)
  friend struct Connection;
  struct Incoming;  // one request as read (server.cpp)
  boost::asio::awaitable<std::unique_ptr<Incoming>> read_request(boost::beast::tcp_stream& stream,
                                                               boost::beast::flat_buffer& buffer, Connection& conn,
                                                               const std::string& peer_ip);
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket, std::string peer_ip);
  // The client's address: the peer's, or from X-Forwarded-For when the peer is a trusted proxy.
  std::string client_ip(const std::string& peer_ip, const boost::beast::http::request_header<>& req) const;
  // Both return false when the connection broke.
  boost::asio::awaitable<bool> write_simple(boost::beast::tcp_stream& stream, unsigned version, const Response& r,
                                            bool keep_alive);
  boost::asio::awaitable<bool> write_head(boost::beast::tcp_stream& stream, unsigned version, const Response& r,
                                          bool keep_alive);
  boost::asio::awaitable<bool> write_file(boost::beast::tcp_stream& stream, unsigned version, const Response& r,
                                          bool keep_alive);

  boost::asio::io_context& io_;
  const Router& router_;
  ServerLimits limits_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<std::uint64_t> next_request_ = 0;
  bool stopping_ = false;
  // All of this is touched only on the network thread.
  std::size_t open_ = 0;
  std::unordered_map<std::string, std::size_t> per_ip_;
  std::list<Connection*> idle_;  // connections waiting for their next request, longest idle first
  int reserve_fd_ = -1;          // given up on EMFILE to accept and close one pending connection
  LogThrottle accept_log_{std::chrono::seconds(10)}, refuse_log_{std::chrono::seconds(10)};
  std::uint64_t refused_ = 0;
  Metrics* metrics_ = nullptr;
  bool shed_idle();
  bool trusted_proxy(const std::string& ip) const;
};

}  // namespace lotse::http
