// Maps (method, path template) to handlers; unknown paths and methods become M_UNRECOGNIZED.
#pragma once
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>
#include <vector>

#include "server/http/request.hpp"

namespace lotse::http {

using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;

class Router {
 public:
  // `pattern` is a path with {name} segments, e.g. "/_matrix/client/v3/rooms/{roomId}/state".
  // A `streaming` route gets its body written to a temporary file (Request::upload) instead of memory.
  void add(boost::beast::http::verb method, const std::string& pattern, Handler handler, bool streaming = false);
  // Registers a client-server API path under /_matrix/client/v3 and, if `legacy_r0`, /r0 too.
  void client(boost::beast::http::verb method, const std::string& path, Handler handler, bool legacy_r0 = true);

  // Answers GET requests no route matched (the web app's static files).
  void set_fallback(Handler handler) { fallback_ = std::move(handler); }
  const Handler* fallback() const { return fallback_ ? &fallback_ : nullptr; }

  enum class Match { found, wrong_method, none };
  // On `found`, fills request.params and request.route and returns the handler.
  Match find(Request& request, const Handler** handler, bool* streaming = nullptr) const;

 private:
  struct Route {
    boost::beast::http::verb method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
    bool streaming;
  };
  std::vector<Route> routes_;
  Handler fallback_;
};

}  // namespace lotse::http
