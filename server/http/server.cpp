// Beast connection handling. Each connection is a coroutine on the single network thread; a handler
// that must wait (long-poll sync, group commit, password hashing) suspends without blocking others.
#include "server/http/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "e2ee/crypto.hpp"
#include "server/log.hpp"

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

template <typename Body>
void add_common_headers(bhttp::response<Body>& res, const Response& r) {
  res.set(bhttp::field::content_type, r.content_type);
  res.set(bhttp::field::access_control_allow_origin, "*");
  res.set(bhttp::field::access_control_allow_methods, "GET, POST, PUT, DELETE, OPTIONS");
  res.set(bhttp::field::access_control_allow_headers, "X-Requested-With, Content-Type, Authorization");
  res.set(bhttp::field::server, "Lotse");
  for (const auto& [k, v] : r.headers) res.set(k, v);
}

Request to_request(const bhttp::request_header<>& req, std::string remote_ip) {
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
  r.remote_ip = std::move(remote_ip);
  return r;
}

// Closes and removes a temporary upload file unless the handler kept it.
struct TempFile {
  std::string path;
  int fd = -1;
  void remove() {
    if (fd >= 0) ::close(fd);
    if (!path.empty()) ::unlink(path.c_str());
    fd = -1;
    path.clear();
  }
  ~TempFile() { remove(); }
};

}  // namespace

asio::awaitable<bool> HttpServer::write_simple(beast::tcp_stream& stream, unsigned version, const Response& r,
                                               bool keep_alive) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), version};
  add_common_headers(res, r);
  res.body() = r.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  auto [ec, n] = co_await bhttp::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
  co_return !ec;
}

asio::awaitable<bool> HttpServer::write_file(beast::tcp_stream& stream, unsigned version, const Response& r,
                                             bool keep_alive) {
  int fd = ::open(r.file->path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    co_return co_await write_simple(stream, version,
                                    Response::error(MatrixError(404, "M_NOT_FOUND", "The file is gone.")), keep_alive);
  }
  TempFile closer{"", fd};
  bhttp::response<bhttp::buffer_body> res{static_cast<bhttp::status>(r.status), version};
  add_common_headers(res, r);
  res.keep_alive(keep_alive);
  res.content_length(r.file->length);
  res.body().data = nullptr;
  res.body().more = r.file->length > 0;
  bhttp::response_serializer<bhttp::buffer_body> sr{res};
  auto [hec, hn] = co_await bhttp::async_write_header(stream, sr, asio::as_tuple(asio::use_awaitable));
  if (hec) co_return false;
  std::vector<char> chunk(256 * 1024);
  std::uint64_t offset = r.file->offset, left = r.file->length;
  while (left > 0) {
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
    ssize_t got = ::pread(fd, chunk.data(), want, static_cast<off_t>(offset));
    if (got <= 0) co_return false;  // the file shrank under us: drop the connection
    offset += static_cast<std::uint64_t>(got);
    left -= static_cast<std::uint64_t>(got);
    res.body().data = chunk.data();
    res.body().size = static_cast<std::size_t>(got);
    res.body().more = left > 0;
    stream.expires_after(std::chrono::seconds(limits_.read_timeout_seconds));
    auto [ec, n] = co_await bhttp::async_write(stream, sr, asio::as_tuple(asio::use_awaitable));
    if (ec && ec != bhttp::error::need_buffer) co_return false;
  }
  if (!sr.is_done()) {
    res.body().data = nullptr;
    res.body().more = false;
    auto [ec, n] = co_await bhttp::async_write(stream, sr, asio::as_tuple(asio::use_awaitable));
    if (ec) co_return false;
  }
  co_return true;
}

asio::awaitable<void> HttpServer::serve(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  auto remote = stream.socket().remote_endpoint(ec);
  std::string remote_ip = ec ? "" : remote.address().to_string();
  const Response too_large = Response::error(MatrixError(413, "M_TOO_LARGE", "The request is too large."));

  for (;;) {
    bhttp::request_parser<bhttp::empty_body> header_parser;
    header_parser.header_limit(32 * 1024);
    header_parser.body_limit(boost::none);
    stream.expires_after(std::chrono::seconds(limits_.read_timeout_seconds));
    auto [hdr_ec, hn] = co_await bhttp::async_read_header(stream, buffer, header_parser, asio::as_tuple(asio::use_awaitable));
    if (hdr_ec == bhttp::error::header_limit || hdr_ec == bhttp::error::buffer_overflow) {
      co_await write_simple(stream, 11, too_large, false);
      break;
    }
    if (hdr_ec) break;  // closed, timed out or not HTTP: nothing to answer
    const unsigned version = header_parser.get().version();
    const bool client_keep_alive = header_parser.get().keep_alive();

    auto started = std::chrono::steady_clock::now();
    Request request = to_request(header_parser.get(), remote_ip);
    request.request_id = std::to_string(++next_request_);
    const Handler* handler = nullptr;
    bool streaming = false;
    auto match = request.method == bhttp::verb::options ? Router::Match::none
                                                        : router_.find(request, &handler, &streaming);
    auto content_length = header_parser.content_length();

    // Read the body: into memory, or for streaming routes into a temporary file with its SHA-256.
    TempFile upload_file;
    bool body_ok = true, body_too_large = false;
    if (streaming && match == Router::Match::found) {
      if (content_length && *content_length > limits_.max_upload_bytes) {
        body_too_large = true;
      } else {
        upload_file.path = limits_.upload_dir + "/upload-" + request.request_id + "-" + std::to_string(::getpid());
        upload_file.fd = ::open(upload_file.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (upload_file.fd < 0) {
          log_line("error", "cannot create upload file", {{"path", upload_file.path}, {"error", std::strerror(errno)}});
          upload_file.path.clear();
          co_await write_simple(stream, version, Response::error(MatrixError(500, "M_UNKNOWN", "Cannot store the upload.")), false);
          break;
        }
        bhttp::request_parser<bhttp::buffer_body> body_parser(std::move(header_parser));
        body_parser.body_limit(limits_.max_upload_bytes);
        e2ee::Sha256 hash;
        std::uint64_t size = 0;
        std::vector<char> chunk(256 * 1024);
        while (!body_parser.is_done()) {
          body_parser.get().body().data = chunk.data();
          body_parser.get().body().size = chunk.size();
          stream.expires_after(std::chrono::seconds(limits_.read_timeout_seconds));
          auto [rec, rn] = co_await bhttp::async_read(stream, buffer, body_parser, asio::as_tuple(asio::use_awaitable));
          if (rec == bhttp::error::body_limit) {
            body_too_large = true;
            break;
          }
          if (rec && rec != bhttp::error::need_buffer) {
            body_ok = false;
            break;
          }
          std::size_t got = chunk.size() - body_parser.get().body().size;
          if (got == 0) continue;
          if (::write(upload_file.fd, chunk.data(), got) != static_cast<ssize_t>(got)) {
            body_ok = false;
            log_line("error", "writing an upload failed", {{"error", std::strerror(errno)}});
            break;
          }
          hash.update(std::string_view(chunk.data(), got));
          size += got;
        }
        if (body_ok && !body_too_large) {
          ::close(upload_file.fd);
          upload_file.fd = -1;
          request.upload = UploadedFile{upload_file.path, size, hash.hex_digest()};
        }
      }
    } else {
      bhttp::request_parser<bhttp::string_body> body_parser(std::move(header_parser));
      body_parser.body_limit(limits_.max_body_bytes);
      auto [rec, rn] = co_await bhttp::async_read(stream, buffer, body_parser, asio::as_tuple(asio::use_awaitable));
      if (rec == bhttp::error::body_limit) body_too_large = true;
      else if (rec) body_ok = false;
      else request.body = std::move(body_parser.get().body());
    }
    if (body_too_large) {
      // The rest of the body is never read: answer and close.
      co_await write_simple(stream, version, too_large, false);
      break;
    }
    if (!body_ok) break;
    stream.expires_never();

    Response response;
    if (request.method == bhttp::verb::options) {
      response = Response::json(boost::json::object{});
      request.route = "OPTIONS";
    } else if (match == Router::Match::none && request.method == bhttp::verb::get && router_.fallback() &&
               request.path.rfind("/_matrix/", 0) != 0 && request.path.rfind("/_lotse/", 0) != 0) {
      request.route = "static";
      try {
        response = co_await (*router_.fallback())(request);
      } catch (const MatrixError& e) {
        response = Response::error(e);
      }
    } else if (match == Router::Match::none) {
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

    // Gone before the client hears back, so nothing of a refused upload is visible afterwards.
    upload_file.remove();
    bool keep_alive = client_keep_alive && !stopping_;
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    log_line("info", "request", {{"request_id", request.request_id},
                                 {"method", std::string(bhttp::to_string(request.method))},
                                 {"route", request.route},
                                 {"status", response.status},
                                 {"duration_us", micros.count()},
                                 {"user", request.auth ? request.auth->user_id : ""}});
    stream.expires_after(std::chrono::seconds(limits_.read_timeout_seconds));
    bool written = response.file ? co_await write_file(stream, version, response, keep_alive)
                                 : co_await write_simple(stream, version, response, keep_alive);
    if (!written || !keep_alive) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace lotse::http
