// Route matching: parameters are percent-decoded; unknown paths and wrong methods are told apart.
#include <doctest/doctest.h>

#include "server/http/router.hpp"

using namespace lotse::http;
using boost::beast::http::verb;

TEST_CASE("router matches templates and decodes parameters") {
  Router router;
  Handler h = [](Request&) -> boost::asio::awaitable<Response> { co_return Response{}; };
  router.client(verb::put, "/rooms/{roomId}/state/{eventType}/{stateKey}", h);
  router.client(verb::get, "/sync", h, false);
  const Handler* found = nullptr;

  Request r;
  r.method = verb::put;
  r.path = "/_matrix/client/v3/rooms/%21abc%3Ahs/state/m.room.name/";
  CHECK(router.find(r, &found) == Router::Match::found);
  CHECK(r.param("roomId") == "!abc:hs");
  CHECK(r.param("stateKey").empty());
  CHECK(r.route == "/_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}");

  r.path = "/_matrix/client/r0/rooms/%21abc%3Ahs/state/m.room.name/x";
  CHECK(router.find(r, &found) == Router::Match::found);

  r.method = verb::post;
  CHECK(router.find(r, &found) == Router::Match::wrong_method);
  r.path = "/_matrix/client/v3/nothing";
  CHECK(router.find(r, &found) == Router::Match::none);
  r.method = verb::get;
  r.path = "/_matrix/client/r0/sync";
  CHECK(router.find(r, &found) == Router::Match::none);
  // Targets without a leading '/' ("GET ?a=1", "OPTIONS *") match nothing (found by tests/fuzz).
  for (const char* odd : {"", "*", "?", "http://x/_matrix/client/v3/sync"}) {
    r.path = odd;
    CHECK(router.find(r, &found) == Router::Match::none);
  }
}

#include "server/http/server.hpp"

TEST_CASE("addresses compare in one canonical form") {
  using lotse::http::canonical_ip;
  CHECK(canonical_ip("::ffff:127.0.0.1") == "127.0.0.1");
  CHECK(canonical_ip("0:0::1") == "::1");
  CHECK(canonical_ip("127.0.0.1") == "127.0.0.1");
  CHECK(canonical_ip("not an address") == "not an address");
}
