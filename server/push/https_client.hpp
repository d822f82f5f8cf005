// A minimal HTTPS POST for the push delivery: TLS verified against the system's CAs (plus an optional
// CA file), the peer's address checked before connecting, time-limited; connections are kept per
// origin for reuse (a push service takes many requests on one connection: no handshake per push).
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>
#include <optional>
#include <stdexcept>
#include <string>

namespace lotse::push {

struct HttpsUrl {
  std::string host;  // without brackets for IPv6
  std::string port;  // "443" by default
  std::string target;  // path and query, "/" at least
  std::string origin() const;  // "https://host[:port]", the VAPID audience
};
// Parses an https:// URL with no user info or fragment; nullopt otherwise.
std::optional<HttpsUrl> parse_https_url(const std::string& url);

struct HttpsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct HttpsReply {
  unsigned status = 0;
  std::optional<std::int64_t> retry_after_seconds;
};

class HttpsClient {
 public:
  // `allow_private`: whether loopback/private/link-local addresses may be connected to.
  HttpsClient(const std::string& extra_ca_file, bool allow_private);
  // POSTs `body` with the given headers; throws HttpsError on connection, TLS or protocol failure.
  // The arguments are references: the caller awaits the answer, and GCC 12 must not see temporaries
  // in the co_await expression (PR 100611).
  boost::asio::awaitable<HttpsReply> post(const HttpsUrl& url, const std::map<std::string, std::string>& headers,
                                          const std::string& body, std::chrono::seconds timeout);
  // Closes the kept connections: before their io_context goes (they belong to its services).
  void close_idle() { idle_.clear(); }

 private:
  using Stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
  static constexpr std::size_t kIdlePerOrigin = 64;  // as many as may run at once (push_delivery)
  static constexpr std::chrono::seconds kIdleFor{50};  // push services close idle connections after about a minute
  boost::asio::awaitable<std::unique_ptr<Stream>> connect(const HttpsUrl& url, std::chrono::seconds timeout);
  std::unique_ptr<Stream> take_idle(const std::string& origin);
  void keep(const std::string& origin, std::unique_ptr<Stream> stream);

  boost::asio::ssl::context ctx_;  // used on the push thread only
  bool system_cas_loaded_ = false;
  bool allow_private_;
  struct Idle {
    std::unique_ptr<Stream> stream;
    std::chrono::steady_clock::time_point since;
  };
  std::unordered_map<std::string, std::vector<Idle>> idle_;
};

// Whether an address is one the server must not be made to connect to (loopback, private,
// link-local, unique-local, unspecified, multicast, IPv4-mapped forms of those).
bool is_private_address(const std::string& ip);

}  // namespace lotse::push
