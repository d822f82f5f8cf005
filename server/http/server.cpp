// Beast connection handling. Each connection is a coroutine on the single network thread; a handler
// that must wait (long-poll sync, group commit, password hashing) suspends without blocking others.
#include "server/http/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <utility>

#include "e2ee/crypto.hpp"
#include "server/http/request_header.hpp"
#include "server/log.hpp"

namespace lotse::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

bool LogThrottle::allow(std::uint64_t& suppressed) {
  auto now = std::chrono::steady_clock::now();
  if (now < next_) {
    ++held_;
    return false;
  }
  next_ = now + interval_;
  suppressed = held_;
  held_ = 0;
  return true;
}

// An open connection: counted in total and per address, and listed in idle_ while it waits for the
// next request of a keep-alive connection (so it can be shed first when the server is full).
struct HttpServer::Connection {
  HttpServer& server;
  beast::tcp_stream& stream;
  std::string ip;
  bool per_ip_counted;
  bool shed = false;  // closed by shed_idle(): a request that still arrives is not run
  std::optional<std::list<Connection*>::iterator> idle_pos;

  Connection(HttpServer& s, beast::tcp_stream& st, std::string addr)
      : server(s), stream(st), ip(std::move(addr)), per_ip_counted(!s.trusted_proxy(ip)) {
    // open_ and per_ip_ were counted by the accept loop already, before the coroutine started.
  }
  ~Connection() {
    set_busy();
    --server.open_;
    if (per_ip_counted) {
      auto it = server.per_ip_.find(ip);
      if (it != server.per_ip_.end() && --it->second == 0) server.per_ip_.erase(it);
    }
  }
  void set_idle() {
    if (!idle_pos) idle_pos = server.idle_.insert(server.idle_.end(), this);
  }
  void set_busy() {
    if (idle_pos) server.idle_.erase(*idle_pos);
    idle_pos.reset();
  }
};

HttpServer::HttpServer(asio::io_context& io, const Router& router, ServerLimits limits)
    : io_(io), router_(router), limits_(std::move(limits)), acceptor_(io) {
  reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

HttpServer::~HttpServer() {
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
}

unsigned short HttpServer::listen(const std::string& address, unsigned short port) {
  tcp::endpoint ep(asio::ip::make_address(address), port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  // The EMFILE path accepts synchronously; non-blocking, it can never stall the network thread.
  acceptor_.non_blocking(true);
  asio::co_spawn(io_, accept_loop(), asio::detached);
  return acceptor_.local_endpoint().port();
}

void HttpServer::stop() {
  stopping_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
}

// Addresses are compared in one canonical form: IPv4-mapped IPv6 (a dual-stack listener's view of
// an IPv4 peer) as IPv4, everything as make_address prints it.
std::string canonical_ip(const std::string& ip) {
  boost::system::error_code ec;
  auto a = asio::ip::make_address(ip, ec);
  if (ec) return ip;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  return a.to_string();
}

bool HttpServer::trusted_proxy(const std::string& ip) const {
  auto c = canonical_ip(ip);
  for (const auto& t : limits_.trusted_proxies)
    if (canonical_ip(t) == c) return true;
  return false;
}

bool HttpServer::shed_idle() {
  if (idle_.empty()) return false;
  Connection* oldest = idle_.front();
  oldest->set_busy();  // its coroutine ends when the pending read fails
  oldest->shed = true;  // or, if a request completed meanwhile, without running it
  boost::system::error_code ec;
  oldest->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  oldest->stream.socket().close(ec);
  return true;
}

asio::awaitable<void> HttpServer::accept_loop() {
  asio::steady_timer backoff(io_);
  auto delay = std::chrono::milliseconds(5);
  while (!stopping_) {
    auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) co_return;
      bool out_of_fds = ec == asio::error::no_descriptors || ec.value() == ENFILE || ec == asio::error::no_buffer_space ||
                        ec == asio::error::no_memory;
      std::uint64_t suppressed = 0;
      if (accept_log_.allow(suppressed))
        log_line("warn", "accept failed", {{"error", ec.message()}, {"open_connections", open_},
                                           {"suppressed_since_last", suppressed}});
      if (out_of_fds) {
        // Make room: drop the longest-idle keep-alive, and use the reserve descriptor to take one
        // waiting connection off the backlog and close it, so the kernel does not keep waking us.
        shed_idle();
        if (reserve_fd_ >= 0) {
          ::close(reserve_fd_);
          reserve_fd_ = -1;
          boost::system::error_code aec;
          tcp::socket victim = acceptor_.accept(aec);
          if (!aec) victim.close(aec);
          reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        }
      }
      // Back off instead of spinning on an error that repeats at once.
      backoff.expires_after(delay);
      co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
      delay = std::min<std::chrono::milliseconds>(delay * 2, std::chrono::milliseconds(1000));
      continue;
    }
    delay = std::chrono::milliseconds(5);
    boost::system::error_code rec;
    auto remote = socket.remote_endpoint(rec);
    std::string ip = rec ? "" : canonical_ip(remote.address().to_string());
    bool counted_per_ip = !trusted_proxy(ip);
    const char* refusal = nullptr;
    if (counted_per_ip && per_ip_[ip] >= limits_.max_connections_per_ip) refusal = "too many connections from one address";
    else if (open_ >= limits_.max_connections && !shed_idle()) refusal = "too many connections";
    if (refusal) {
      if (counted_per_ip && per_ip_[ip] == 0) per_ip_.erase(ip);
      ++refused_;
      if (metrics_) metrics_->connection_refused();
      std::uint64_t suppressed = 0;
      if (refuse_log_.allow(suppressed))
        log_line("warn", "connection refused", {{"reason", refusal}, {"open_connections", open_},
                                                {"refused_total", refused_}, {"suppressed_since_last", suppressed}});
      socket.close(rec);
      continue;
    }
    ++open_;
    if (counted_per_ip) ++per_ip_[ip];
    socket.set_option(tcp::no_delay(true), rec);
    asio::co_spawn(io_, serve(std::move(socket), std::move(ip)), asio::detached);
  }
}

namespace {

template <typename Body>
void add_common_headers(bhttp::response<Body>& res, const Response& r, bool cors) {
  res.set(bhttp::field::content_type, r.content_type);
  if (cors) {  // the Matrix API is for web clients on any origin; /metrics is not
    res.set(bhttp::field::access_control_allow_origin, "*");
    res.set(bhttp::field::access_control_allow_methods, "GET, POST, PUT, DELETE, OPTIONS");
    res.set(bhttp::field::access_control_allow_headers, "X-Requested-With, Content-Type, Authorization");
  }
  res.set(bhttp::field::server, "Lotse");
  for (const auto& [k, v] : r.headers) res.set(k, v);
}

// Closes and removes a temporary upload file unless the handler kept it.
struct TempFile {
  std::string path;
  int fd = -1;
  TempFile() = default;
  TempFile(std::string p, int f) : path(std::move(p)), fd(f) {}
  TempFile(TempFile&& o) noexcept : path(std::exchange(o.path, {})), fd(std::exchange(o.fd, -1)) {}
  TempFile& operator=(TempFile&&) = delete;
  void remove() {
    if (fd >= 0) ::close(fd);
    if (!path.empty()) ::unlink(path.c_str());
    fd = -1;
    path.clear();
  }
  ~TempFile() { remove(); }
};

Response too_large() { return Response::error(MatrixError(413, "M_TOO_LARGE", "The request is too large.")); }

// The answer for a handler that threw: a Matrix error as it says; anything else is a 500. Every 5xx
// is logged with what an operator needs to find it (the request id is in the request log too).
Response failed(const Request& request, const MatrixError& e) {
  if (e.status >= 500)
    log_line("error", "request failed", {{"request_id", request.request_id}, {"route", request.route},
                                         {"status", e.status}, {"errcode", e.errcode}, {"error", e.what()}});
  return Response::error(e);
}
Response failed(const Request& request, const std::exception& e) {
  log_line("error", "request failed", {{"request_id", request.request_id}, {"route", request.route},
                                       {"status", 500}, {"error", e.what()}});
  return Response::error(MatrixError(500, "M_UNKNOWN", "Internal server error"));
}

}  // namespace

// One request as read from the connection and routed, with its body in memory or, for streaming
// routes, in a temporary file.
struct HttpServer::Incoming {
  Request request;
  const Handler* handler = nullptr;
  Router::Match match = Router::Match::none;
  bool head = false;
  std::string method_name;  // as the client sent it: logs and metrics say HEAD
  unsigned version = 11;
  bool client_keep_alive = false;
  std::chrono::steady_clock::time_point started;
  TempFile upload_file;
};

std::string HttpServer::client_ip(const std::string& peer_ip, const bhttp::request_header<>& req) const {
  if (!trusted_proxy(peer_ip)) return peer_ip;
  // Proxies append, so the rightmost entry that is not one of ours is the client we can vouch for.
  std::string all;
  for (auto [it, end] = req.equal_range("X-Forwarded-For"); it != end; ++it) {
    if (!all.empty()) all += ',';
    all.append(it->value().data(), it->value().size());
  }
  std::string_view rest = all;
  while (!rest.empty()) {
    auto comma = rest.rfind(',');
    std::string_view item = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(std::string(item), ec);
    if (ec) return peer_ip;  // garbage from the client side of the chain: trust only the proxy itself
    std::string ip = canonical_ip(addr.to_string());
    if (!trusted_proxy(ip)) return ip;
  }
  return peer_ip;
}

asio::awaitable<bool> HttpServer::write_simple(beast::tcp_stream& stream, unsigned version, const Response& r,
                                               bool keep_alive) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), version};
  add_common_headers(res, r, limits_.cors);
  res.body() = r.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  auto [ec, n] = co_await bhttp::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
  co_return !ec;
}

asio::awaitable<bool> HttpServer::write_head(beast::tcp_stream& stream, unsigned version, const Response& r,
                                             bool keep_alive) {
  bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(r.status), version};
  add_common_headers(res, r, limits_.cors);
  res.keep_alive(keep_alive);
  res.set(bhttp::field::content_length, std::to_string(r.file ? r.file->length : r.body.size()));
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
  add_common_headers(res, r, limits_.cors);
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

// Reads the next request: its header, its route and its body. Returns null when the connection is
// to be closed (after the answer it needed, if any). A coroutine of its own, so that the parsers and
// upload buffers live only while a request is read, not while its handler waits (a long-poll may
// wait for minutes, and there may be ten thousand of them).
asio::awaitable<std::unique_ptr<HttpServer::Incoming>> HttpServer::read_request(beast::tcp_stream& stream,
                                                                             beast::flat_buffer& buffer,
                                                                             Connection& conn,
                                                                             const std::string& peer_ip) {
  bhttp::request_parser<bhttp::empty_body> header_parser;
  header_parser.header_limit(32 * 1024);
  header_parser.body_limit(boost::none);
  stream.expires_after(std::chrono::seconds(limits_.read_timeout_seconds));
  if (buffer.size() == 0) conn.set_idle();  // nothing of the next request has arrived yet
  auto [hdr_ec, hn] = co_await bhttp::async_read_header(stream, buffer, header_parser, asio::as_tuple(asio::use_awaitable));
  conn.set_busy();
  if (conn.shed) co_return nullptr;  // shed while idle: a request whose read completed meanwhile is not run
  if (hdr_ec == bhttp::error::header_limit || hdr_ec == bhttp::error::buffer_overflow) {
    const Response answer = too_large();  // named: no temporaries in a co_await expression (GCC 12)
    co_await write_simple(stream, 11, answer, false);
    co_return nullptr;
  }
  if (hdr_ec) co_return nullptr;  // closed, timed out or not HTTP: nothing to answer

  auto in = std::make_unique<Incoming>();
  in->version = header_parser.get().version();
  in->client_keep_alive = header_parser.get().keep_alive();
  in->started = std::chrono::steady_clock::now();
  Request& request = in->request;
  request = request_from_header(header_parser.get(), client_ip(peer_ip, header_parser.get()));
  request.request_id = std::to_string(++next_request_);
  bool streaming = false;
  // HEAD is GET without the body (RFC 9110 9.3.2): routed as GET, answered with its headers only.
  in->head = request.method == bhttp::verb::head;
  in->method_name = std::string(bhttp::to_string(request.method));
  if (in->head) request.method = bhttp::verb::get;
  in->match = request.method == bhttp::verb::options ? Router::Match::none
                                                      : router_.find(request, &in->handler, &streaming);
  // Not for /sync: a GET there acknowledges to-device messages and may long-poll, which a HEAD
  // (whose answer has no body) must not do.
  if (in->head && in->match == Router::Match::found && request.route.find("/sync") != std::string::npos)
    in->match = Router::Match::wrong_method;
  auto content_length = header_parser.content_length();

  // Read the body: into memory, or for streaming routes into a temporary file with its SHA-256.
  TempFile& upload_file = in->upload_file;
  bool body_ok = true, body_too_large = false;
  if (streaming && in->match == Router::Match::found) {
    if (content_length && *content_length > limits_.max_upload_bytes) {
      body_too_large = true;
    } else {
      upload_file.path = limits_.upload_dir + "/upload-" + request.request_id + "-" + std::to_string(::getpid());
      upload_file.fd = ::open(upload_file.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (upload_file.fd < 0) {
        log_line("error", "cannot create upload file", {{"request_id", request.request_id}, {"route", request.route},
                                                        {"path", upload_file.path}, {"error", std::strerror(errno)}});
        upload_file.path.clear();
        const Response answer = Response::error(MatrixError(500, "M_UNKNOWN", "Cannot store the upload."));
        co_await write_simple(stream, in->version, answer, false);
        co_return nullptr;
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
          log_line("error", "writing an upload failed", {{"request_id", request.request_id}, {"route", request.route},
                                                         {"error", std::strerror(errno)}});
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
    const Response answer = too_large();
    co_await write_simple(stream, in->version, answer, false);
    co_return nullptr;
  }
  if (!body_ok) co_return nullptr;
  co_return in;
}

asio::awaitable<void> HttpServer::serve(tcp::socket socket, std::string peer_ip) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  Connection conn(*this, stream, peer_ip);

  for (;;) {
    std::unique_ptr<Incoming> in = co_await read_request(stream, buffer, conn, peer_ip);
    if (!in) break;
    // With nothing of a next request read ahead, the buffer goes back while the handler runs.
    if (buffer.size() == 0) buffer.shrink_to_fit();
    stream.expires_never();
    Request& request = in->request;

    Response response;
    if (request.method == bhttp::verb::options) {
      response = Response::json(boost::json::object{});
      request.route = "OPTIONS";
    } else if (in->match == Router::Match::none && request.method == bhttp::verb::get && router_.fallback() &&
               request.path.rfind("/_matrix/", 0) != 0 && request.path.rfind("/_lotse/", 0) != 0) {
      request.route = "static";
      try {
        response = co_await (*router_.fallback())(request);
      } catch (const MatrixError& e) {
        response = failed(request, e);
      } catch (const std::exception& e) {
        response = failed(request, e);
      }
    } else if (in->match == Router::Match::none) {
      response = Response::error(MatrixError(404, "M_UNRECOGNIZED", "Unrecognized request"));
      request.route = "unknown";
    } else if (in->match == Router::Match::wrong_method) {
      response = Response::error(MatrixError(405, "M_UNRECOGNIZED", "Unrecognized request: method not allowed"));
      request.route = "wrong-method";
    } else {
      try {
        response = co_await (*in->handler)(request);
      } catch (const MatrixError& e) {
        response = failed(request, e);
      } catch (const std::exception& e) {
        response = failed(request, e);
      }
    }

    // Gone before the client hears back, so nothing of a refused upload is visible afterwards.
    in->upload_file.remove();
    bool keep_alive = in->client_keep_alive && !stopping_;
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - in->started);
    if (metrics_) metrics_->request(in->method_name, request.route, response.status, micros);
    log_line("info", "request", {{"request_id", request.request_id},
                                 {"method", in->method_name},
                                 {"route", request.route},
                                 {"status", response.status},
                                 {"duration_us", micros.count()},
                                 {"user", request.auth ? request.auth->user_id : ""}});
    stream.expires_after(std::chrono::seconds(limits_.read_timeout_seconds));
    // Plain statements, not nested ?: around co_await (GCC 12 miscompiled that: every answer took
    // the file branch).
    bool written = false;
    if (in->head) written = co_await write_head(stream, in->version, response, keep_alive);
    else if (response.file) written = co_await write_file(stream, in->version, response, keep_alive);
    else written = co_await write_simple(stream, in->version, response, keep_alive);
    if (!written || !keep_alive) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace lotse::http
