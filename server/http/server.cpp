// Beast connection handling. Each connection is a coroutine on the single network thread; a handler
// that must wait (long-poll sync, group commit, password hashing) suspends without blocking others.
#include "server/http/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>

#include "server/http/log.hpp"

namespace lotse::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

HttpServer::HttpServer(asio::io_context& io, const Router& router, ServerLimits limits)
    : io_(io), router_(router), limits_(limits), acceptor_(io) {}

unsigned short HttpServer::listen(const std::string& address, unsigned short port) {
  tcp::endpoint ep(asio::ip::make_address(address), port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  asio::co_spawn(io_, accept_loop(), asio::detached);
  return acceptor_.local_endpoint().port();
}

void HttpServer::stop() {
  stopping_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
}

asio::awaitable<void> HttpServer::accept_loop() {
  while (!stopping_) {
    auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) co_return;
      log_line("warn", "accept failed", {{"error", ec.message()}});
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
  }
}

namespace {

void add_common_headers(bhttp::response<bhttp::string_body>& res, const Response& r) {
  res.set(bhttp::field::content_type, r.content_type);
  res.set(bhttp::field::access_control_allow_origin, "*");
  res.set(bhttp::field::access_control_allow_methods, "GET, POST, PUT, DELETE, OPTIONS");
  res.set(bhttp::field::access_control_allow_headers, "X-Requested-With, Content-Type, Authorization");
  res.set(bhttp::field::server, "Lotse");
  for (const auto& [k, v] : r.headers) res.set(k, v);
}

Request to_request(const bhttp::request<bhttp::string_body>& req, std::string remote_ip) {
  Request r;
  r.method = req.method();
  std::string_view target = req.target();
  auto q = target.find('?');
  r.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) {
    std::string_view qs = target.substr(q + 1);
    while (!qs.empty()) {
      auto amp = qs.find('&');
      auto part = qs.substr(0, amp);
      auto eq = part.find('=');
      std::string key = percent_decode(part.substr(0, eq), true);
      std::string value = eq == std::string_view::npos ? "" : percent_decode(part.substr(eq + 1), true);
      if (!key.empty()) r.query.emplace(std::move(key), std::move(value));
      if (amp == std::string_view::npos) break;
      qs.remove_prefix(amp + 1);
    }
  }
  for (const auto& f : req) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(f.value());
  }
  r.body = req.body();
  r.remote_ip = std::move(remote_ip);
  return r;
}

}  // namespace

asio::awaitable<void> HttpServer::serve(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  auto remote = stream.socket().remote_endpoint(ec);
  std::string remote_ip = ec ? "" : remote.address().to_string();

  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(limits_.max_body_bytes);
    parser.header_limit(32 * 1024);
    stream.expires_after(std::chrono::seconds(limits_.read_timeout_seconds));
    auto [read_ec, n] = co_await bhttp::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (read_ec == bhttp::error::body_limit || read_ec == bhttp::error::buffer_overflow ||
        read_ec == bhttp::error::header_limit) {
      Response r = Response::error(MatrixError(413, "M_TOO_LARGE", "The request is too large."));
      bhttp::response<bhttp::string_body> res{bhttp::status::payload_too_large, 11};
      add_common_headers(res, r);
      res.body() = r.body;
      res.keep_alive(false);
      res.prepare_payload();
      co_await bhttp::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
      break;
    }
    if (read_ec) break;  // closed, timed out or not HTTP: nothing to answer
    auto& breq = parser.get();
    stream.expires_never();

    auto started = std::chrono::steady_clock::now();
    Request request = to_request(breq, remote_ip);
    request.request_id = std::to_string(++next_request_);
    Response response;
    if (request.method == bhttp::verb::options) {
      response = Response::json(boost::json::object{});
      request.route = "OPTIONS";
    } else {
      const Handler* handler = nullptr;
      auto match = router_.find(request, &handler);
      if (match == Router::Match::none) {
        response = Response::error(MatrixError(404, "M_UNRECOGNIZED", "Unrecognized request"));
        request.route = "unknown";
      } else if (match == Router::Match::wrong_method) {
        response = Response::error(MatrixError(405, "M_UNRECOGNIZED", "Unrecognized request: method not allowed"));
        request.route = "wrong-method";
      } else {
        try {
          response = co_await (*handler)(request);
        } catch (const MatrixError& e) {
          response = Response::error(e);
        } catch (const std::exception& e) {
          log_line("error", "request failed", {{"request_id", request.request_id}, {"route", request.route},
                                               {"error", e.what()}});
          response = Response::error(MatrixError(500, "M_UNKNOWN", "Internal server error"));
        }
      }
    }

    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(response.status), breq.version()};
    add_common_headers(res, response);
    res.body() = std::move(response.body);
    res.keep_alive(breq.keep_alive() && !stopping_);
    res.prepare_payload();
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    log_line("info", "request", {{"request_id", request.request_id},
                                 {"method", std::string(bhttp::to_string(request.method))},
                                 {"route", request.route},
                                 {"status", response.status},
                                 {"duration_us", micros.count()},
                                 {"user", request.auth ? request.auth->user_id : ""}});
    stream.expires_after(std::chrono::seconds(limits_.read_timeout_seconds));
    auto [write_ec, w] = co_await bhttp::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    if (write_ec || !res.keep_alive()) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace lotse::http
