// HTTPS POST with Beast over OpenSSL; see https_client.hpp.
#include "server/push/https_client.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <vector>

namespace lotse::push {
namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;

std::string HttpsUrl::origin() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return "https://" + h + (port == "443" ? "" : ":" + port);
}

std::optional<HttpsUrl> parse_https_url(const std::string& url) {
  if (url.size() > 2048 || url.rfind("https://", 0) != 0) return std::nullopt;
  for (unsigned char c : url)
    if (c <= 0x20 || c >= 0x7F || c == '#' || c == '\\') return std::nullopt;
  std::string rest = url.substr(8);
  auto slash = rest.find_first_of("/?");
  std::string authority = rest.substr(0, slash);
  HttpsUrl u;
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (!u.target.empty() && u.target[0] == '?') u.target = "/" + u.target;
  if (authority.empty() || authority.find('@') != std::string::npos) return std::nullopt;
  std::string port;
  if (authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) return std::nullopt;
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return std::nullopt;
      port = authority.substr(close + 2);
    }
  } else {
    auto colon = authority.find(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return std::nullopt;
  if (port.empty()) port = "443";
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) == 0 ||
      std::stoi(port) > 65535)
    return std::nullopt;
  u.port = port;
  for (auto& c : u.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return u;
}

bool is_private_address(const std::string& ip) {
  boost::system::error_code ec;
  auto a = asio::ip::make_address(ip, ec);
  if (ec) return true;
  if (a.is_v6()) {
    auto v6 = a.to_v6();
    if (v6.is_v4_mapped()) return is_private_address(asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string());
    auto b = v6.to_bytes();
    auto embedded_v4 = [&](int at) {
      return is_private_address(asio::ip::address_v4({b[at], b[at + 1], b[at + 2], b[at + 3]}).to_string());
    };
    bool zeros96 = std::all_of(b.begin(), b.begin() + 12, [](unsigned char c) { return c == 0; });
    if (zeros96) return true;  // ::/96, IPv4-compatible (deprecated) and ::1, ::
    if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) return true;  // 64:ff9b::/96, /48 NAT64: never needed
    if (b[0] == 0x20 && b[1] == 0x02) return embedded_v4(2);                          // 2002::/16 6to4
    if (b[0] == 0x01 && b[1] == 0x00 && std::all_of(b.begin() + 2, b.begin() + 8, [](unsigned char c) { return c == 0; }))
      return true;  // 100::/64 discard
    // Anything else must be global unicast (2000::/3) and not a documentation prefix.
    return (b[0] & 0xE0) != 0x20 || (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) ||
           v6.is_link_local() || v6.is_multicast() || v6.is_site_local();
  }
  auto b = a.to_v4().to_bytes();
  return b[0] == 0 || b[0] == 10 || b[0] == 127 || (b[0] == 169 && b[1] == 254) || (b[0] == 172 && (b[1] & 0xF0) == 16) ||
         (b[0] == 192 && b[1] == 168) || (b[0] == 100 && (b[1] & 0xC0) == 64) /* CGNAT */ ||
         (b[0] == 192 && b[1] == 0 && b[2] == 0) || (b[0] == 198 && (b[1] & 0xFE) == 18) /* benchmarking */ ||
         (b[0] == 192 && b[1] == 0 && b[2] == 2) || (b[0] == 198 && b[1] == 51 && b[2] == 100) ||
         (b[0] == 203 && b[1] == 0 && b[2] == 113) /* documentation */ || b[0] >= 224;
}

HttpsClient::HttpsClient(const std::string& extra_ca_file, bool allow_private)
    : ctx_(asio::ssl::context::tls_client), allow_private_(allow_private) {
  if (!extra_ca_file.empty()) ctx_.load_verify_file(extra_ca_file);
  ctx_.set_verify_mode(asio::ssl::verify_peer);
  ctx_.set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1);
}

asio::awaitable<std::unique_ptr<HttpsClient::Stream>> HttpsClient::connect(const HttpsUrl& url,
                                                                          std::chrono::seconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  boost::system::error_code ec;
  auto results = co_await resolver.async_resolve(url.host, url.port, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) throw HttpsError("cannot resolve " + url.host + ": " + ec.message());
  // The address is checked here, after resolution, so a name that resolves to an internal address
  // (or changes to one) is refused the same as a literal one.
  std::vector<tcp::endpoint> endpoints;
  for (const auto& r : results)
    if (allow_private_ || !is_private_address(r.endpoint().address().to_string())) endpoints.push_back(r.endpoint());
  if (endpoints.empty()) throw HttpsError(url.host + " resolves only to internal addresses");

  // The system's CA certificates are read at the first connection, not at start-up: parsed, they
  // take about a megabyte, which an instance whose users never enable push never needs.
  if (!system_cas_loaded_) {
    ctx_.set_default_verify_paths();
    system_cas_loaded_ = true;
  }
  auto stream = std::make_unique<Stream>(ex, ctx_);
  boost::system::error_code not_an_ip;
  (void)asio::ip::make_address(url.host, not_an_ip);
  if (not_an_ip && !SSL_set_tlsext_host_name(stream->native_handle(), url.host.c_str()))  // SNI for names only
    throw HttpsError("cannot set the TLS server name");
  stream->set_verify_callback(asio::ssl::host_name_verification(url.host));
  beast::get_lowest_layer(*stream).expires_after(timeout);
  co_await beast::get_lowest_layer(*stream).async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) throw HttpsError("cannot connect to " + url.origin() + ": " + ec.message());
  beast::get_lowest_layer(*stream).expires_after(timeout);
  co_await stream->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) throw HttpsError("TLS with " + url.origin() + " failed: " + ec.message());
  co_return stream;
}

std::unique_ptr<HttpsClient::Stream> HttpsClient::take_idle(const std::string& origin) {
  auto it = idle_.find(origin);
  if (it == idle_.end()) return nullptr;
  auto now = std::chrono::steady_clock::now();
  while (!it->second.empty()) {
    auto entry = std::move(it->second.back());
    it->second.pop_back();
    if (now - entry.since < kIdleFor) return std::move(entry.stream);
  }
  return nullptr;
}

void HttpsClient::keep(const std::string& origin, std::unique_ptr<Stream> stream) {
  auto& list = idle_[origin];
  if (list.size() >= kIdlePerOrigin) return;  // closed when it goes out of scope
  list.push_back({std::move(stream), std::chrono::steady_clock::now()});
}

asio::awaitable<HttpsReply> HttpsClient::post(const HttpsUrl& url, const std::map<std::string, std::string>& headers,
                                              const std::string& body, std::chrono::seconds timeout) {
  beast::http::request<beast::http::string_body> req{beast::http::verb::post, url.target, 11};
  const auto origin = url.origin();
  req.set(beast::http::field::host, origin.substr(8));
  req.set(beast::http::field::user_agent, "Lotse");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.keep_alive(true);
  req.prepare_payload();
  // A kept connection is tried first; if the push service closed it meanwhile, once more on a new one.
  auto stream = take_idle(origin);
  bool reused = stream != nullptr;
  for (;;) {
    if (!stream) stream = co_await connect(url, timeout);
    boost::system::error_code ec;
    beast::get_lowest_layer(*stream).expires_after(timeout);
    co_await beast::http::async_write(*stream, req, asio::redirect_error(asio::use_awaitable, ec));
    beast::flat_buffer buffer;
    beast::http::response_parser<beast::http::string_body> parser;
    parser.body_limit(64 * 1024);
    parser.header_limit(16 * 1024);
    if (!ec) {
      beast::get_lowest_layer(*stream).expires_after(timeout);
      co_await beast::http::async_read(*stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec && reused) {
      stream.reset();
      reused = false;
      continue;
    }
    if (ec) throw HttpsError("no answer from " + origin + ": " + ec.message());
    HttpsReply reply;
    const auto& res = parser.get();
    reply.status = res.result_int();
    auto ra = res[beast::http::field::retry_after];
    if (!ra.empty() && ra.size() <= 9 && ra.find_first_not_of("0123456789") == std::string_view::npos)
      reply.retry_after_seconds = std::stoll(std::string(ra));
    if (res.keep_alive() && buffer.size() == 0) {
      beast::get_lowest_layer(*stream).expires_never();
      keep(origin, std::move(stream));
    }
    co_return reply;
  }
}

}  // namespace lotse::push
