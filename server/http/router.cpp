// Route matching on percent-encoded path segments; parameters are decoded after matching.
#include "server/http/router.hpp"

namespace lotse::http {
namespace {
std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  if (path.empty() || path.front() != '/') return out;  // "GET ?x", "GET *": no segments, no route
  size_t start = 1;
  while (true) {
    size_t pos = path.find('/', start);
    out.emplace_back(path.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}
}  // namespace

void Router::add(boost::beast::http::verb method, const std::string& pattern, Handler handler, bool streaming) {
  routes_.push_back(Route{method, pattern, split_path(pattern), std::move(handler), streaming});
}

void Router::client(boost::beast::http::verb method, const std::string& path, Handler handler, bool legacy_r0) {
  add(method, "/_matrix/client/v3" + path, handler);
  if (legacy_r0) add(method, "/_matrix/client/r0" + path, std::move(handler));
}

Router::Match Router::find(Request& request, const Handler** handler, bool* streaming) const {
  auto segments = split_path(request.path);
  bool path_known = false;
  for (const auto& r : routes_) {
    if (r.segments.size() != segments.size()) continue;
    bool ok = true;
    for (size_t i = 0; i < segments.size() && ok; ++i) {
      const auto& p = r.segments[i];
      bool is_param = p.size() > 2 && p.front() == '{' && p.back() == '}';
      if (is_param) ok = !segments[i].empty() || p == "{stateKey}";
      else ok = p == segments[i];
    }
    if (!ok) continue;
    path_known = true;
    if (r.method != request.method) continue;
    request.params.clear();
    for (size_t i = 0; i < segments.size(); ++i) {
      const auto& p = r.segments[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}')
        request.params[p.substr(1, p.size() - 2)] = percent_decode(segments[i]);
    }
    request.route = r.pattern;
    *handler = &r.handler;
    if (streaming) *streaming = r.streaming;
    return Match::found;
  }
  return path_known ? Match::wrong_method : Match::none;
}

}  // namespace lotse::http
