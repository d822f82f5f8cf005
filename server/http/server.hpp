// The HTTP/1.1 listener: Beast connections as coroutines, request limits, CORS, access log.
#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <atomic>
#include <cstdint>
#include <string>

#include "server/http/router.hpp"

namespace lotse::http {

struct ServerLimits {
  std::uint64_t max_body_bytes = 1 << 20;     // JSON request bodies, held in memory
  std::uint64_t max_upload_bytes = 50 << 20;  // streaming routes (media), written to upload_dir
  std::string upload_dir = "/tmp";
  std::uint32_t read_timeout_seconds = 60;
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, const Router& router, ServerLimits limits);
  // Binds and starts accepting; throws on bind failure. Returns the bound port.
  unsigned short listen(const std::string& address, unsigned short port);
  void stop();

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);
  // Both return false when the connection broke.
  boost::asio::awaitable<bool> write_simple(boost::beast::tcp_stream& stream, unsigned version, const Response& r,
                                            bool keep_alive);
  boost::asio::awaitable<bool> write_file(boost::beast::tcp_stream& stream, unsigned version, const Response& r,
                                          bool keep_alive);

  boost::asio::io_context& io_;
  const Router& router_;
  ServerLimits limits_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<std::uint64_t> next_request_ = 0;
  bool stopping_ = false;
};

}  // namespace lotse::http
