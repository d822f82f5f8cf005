// HTTP request parsing and routing: bytes go through Beast's request parser with the server's limits,
// become a lotse::http::Request through server/http/request_header.cpp (the server's own code), and are
// routed through a Router holding the server's route templates. Nothing may crash or throw; a match
// must be a registered template whose parameters are the percent-decoded path segments.
// percent_decode is checked on its own too: it never grows its input and undoes percent-encoding.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <set>

#include "fuzz_check.hpp"
#include "server/http/request_header.hpp"
#include "server/http/router.hpp"

namespace bhttp = boost::beast::http;
using lotse::http::percent_decode;
using lotse::http::Request;
using lotse::http::Router;

namespace {

// Route templates of server/api (grep -o '"/…{…}…"' server/api), client ones under v3 and r0.
constexpr std::string_view kClientRoutes[] = {
    "/account/whoami", "/devices/{deviceId}", "/join/{roomIdOrAlias}", "/keys/query", "/login",
    "/profile/{userId}", "/profile/{userId}/", "/pushrules/", "/pushrules/{scope}/{kind}/{ruleId}",
    "/pushrules/{scope}/{kind}/{ruleId}/", "/room_keys/keys/{roomId}/{sessionId}", "/room_keys/version/{version}",
    "/rooms/{roomId}/context/{eventId}", "/rooms/{roomId}/event/{eventId}", "/rooms/{roomId}/messages",
    "/rooms/{roomId}/receipt/{receiptType}/{eventId}", "/rooms/{roomId}/redact/{eventId}/{txnId}",
    "/rooms/{roomId}/send/{eventType}/{txnId}", "/rooms/{roomId}/state", "/rooms/{roomId}/state/{eventType}",
    "/rooms/{roomId}/state/{eventType}/{stateKey}", "/rooms/{roomId}/typing/{userId}",
    "/sendToDevice/{eventType}/{txnId}", "/sync", "/user/{userId}/account_data/{type}",
    "/user/{userId}/filter/{filterId}", "/user/{userId}/rooms/{roomId}/tags/{tag}"};
constexpr std::string_view kRawRoutes[] = {
    "/_matrix/client/versions", "/.well-known/matrix/client", "/health", "/_lotse/client/v1/branding",
    "/_matrix/client/v1/rooms/{roomId}/relations/{eventId}", "/_matrix/client/v1/rooms/{roomId}/hierarchy",
    "/_matrix/client/v1/media/download/{serverName}/{mediaId}/{fileName}",
    "/_matrix/client/v1/media/thumbnail/{serverName}/{mediaId}", "/_matrix/media/v3/upload/{serverName}/{mediaId}",
    "/_lotse/admin/v1/users/{userId}/export"};

struct Routes {
  Router router;
  std::set<std::string> templates;
  Routes() {
    lotse::http::Handler none;  // never called: only matching is fuzzed
    for (auto r : kClientRoutes)
      for (auto verb : {bhttp::verb::get, bhttp::verb::put}) router.client(verb, std::string(r), none);
    for (auto r : kRawRoutes) router.add(bhttp::verb::get, std::string(r), none);
    router.add(bhttp::verb::post, "/_matrix/media/v3/upload", none, true);
    for (auto r : kClientRoutes) {
      templates.insert("/_matrix/client/v3" + std::string(r));
      templates.insert("/_matrix/client/r0" + std::string(r));
    }
    for (auto r : kRawRoutes) templates.emplace(r);
    templates.insert("/_matrix/media/v3/upload");
  }
};

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty()) return out;
  path.remove_prefix(1);
  for (;;) {
    auto pos = path.find('/');
    out.push_back(path.substr(0, pos));
    if (pos == std::string_view::npos) return out;
    path.remove_prefix(pos + 1);
  }
}

void check_percent_decode(std::string_view s) {
  for (bool plus : {false, true}) {
    auto d = percent_decode(s, plus);
    FUZZ_CHECK(d.size() <= s.size(), "percent_decode grew its input");
    if (s.find('%') == std::string_view::npos && (!plus || s.find('+') == std::string_view::npos))
      FUZZ_CHECK(d == s, "percent_decode changed text without escapes");
    FUZZ_CHECK(percent_decode(percent_encode(s), plus) == s, "percent_decode does not undo percent-encoding");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  static Routes routes;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_percent_decode(bytes.substr(0, 512));

  bhttp::request_parser<bhttp::string_body> parser;  // the server's limits (server.cpp)
  parser.header_limit(32 * 1024);
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::system::error_code ec;
  std::size_t used = 0;
  while (used < bytes.size() && !parser.is_done()) {
    std::size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (ec == bhttp::error::need_more) break;
    if (ec) return 0;
    if (n == 0) break;
    used += n;
  }
  if (bytes.empty() || !parser.is_header_done()) return 0;
  if (!parser.is_done()) {
    parser.put_eof(ec);
    if (ec && !parser.is_header_done()) return 0;
  }

  Request request = lotse::http::request_from_header(parser.get().base(), "127.0.0.1");
  request.body = parser.get().body();
  const lotse::http::Handler* handler = nullptr;
  bool streaming = false;
  Router::Match match = routes.router.find(request, &handler, &streaming);
  if (match != Router::Match::found) return 0;
  FUZZ_CHECK(handler != nullptr, "found without a handler");
  FUZZ_CHECK(routes.templates.count(request.route), "matched a template that was never registered");
  auto raw = segments(request.path);
  auto tpl = segments(request.route);
  FUZZ_CHECK(raw.size() == tpl.size(), "matched a template with another number of segments");
  std::size_t params = 0;
  for (std::size_t i = 0; i < tpl.size(); ++i) {
    if (tpl[i].size() > 2 && tpl[i].front() == '{' && tpl[i].back() == '}') {
      ++params;
      auto it = request.params.find(std::string(tpl[i].substr(1, tpl[i].size() - 2)));
      FUZZ_CHECK(it != request.params.end() && it->second == percent_decode(raw[i]), "a parameter is not its decoded segment");
      FUZZ_CHECK(!it->second.empty() || tpl[i] == "{stateKey}", "an empty parameter matched");
    } else {
      FUZZ_CHECK(tpl[i] == raw[i], "a literal segment differs");
    }
  }
  FUZZ_CHECK(request.params.size() == params, "parameters that are not in the template");
  (void)request.access_token();
  (void)request.query_param("access_token");
  try {
    (void)request.json_object();
  } catch (const lotse::http::MatrixError&) {
  }
  return 0;
}
