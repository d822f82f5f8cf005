// A Request from the header Beast parsed: method, raw path, decoded query, lower-case header names.
#include "server/http/request_header.hpp"

#include <cctype>

namespace lotse::http {

namespace bhttp = boost::beast::http;

Request request_from_header(const bhttp::request_header<>& req, std::string remote_ip) {
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

}  // namespace lotse::http
