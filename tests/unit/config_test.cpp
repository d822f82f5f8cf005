// Configuration validation: unknown keys and bad values name the key.
#include <doctest/doctest.h>

#include "server/config/config.hpp"

using namespace lotse::config;

TEST_CASE("defaults and documented keys") {
  auto c = parse_config("server_name = \"counsel.example\"\nlisten_port = 9000\n[registration]\nenabled = false\n"
                        "[rate_limits]\nenabled = false\n", "test");
  CHECK(c.server_name == "counsel.example");
  CHECK(c.listen_port == 9000);
  CHECK_FALSE(c.registration.enabled);
  CHECK_FALSE(c.rate_limits.enabled);
  CHECK(c.data_dir == "data");
  auto d = parse_config(default_config_text("data"), "default");
  CHECK(d.rate_limits.enabled);
  CHECK(d.registration.role == "seeker");  // the counseling rules unless a conformance run says otherwise
  CHECK(parse_config("[registration]\nrole = \"user\"\n", "test").registration.role == "user");
}

TEST_CASE("errors name the key") {
  auto message = [](const char* text) {
    try {
      parse_config(text, "test");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message("sever_name = \"x\"").find("sever_name") != std::string::npos);
  CHECK(message("listen_port = 70000").find("listen_port") != std::string::npos);
  CHECK(message("listen_port = \"8008\"").find("listen_port") != std::string::npos);
  CHECK(message("[registration]\nenabeld = true").find("registration.enabeld") != std::string::npos);
  CHECK(message("[registration]\nrole = \"admin\"").find("registration.role") != std::string::npos);
  CHECK(message("[rate_limits]\nenabled = 1").find("rate_limits.enabled") != std::string::npos);
  CHECK(message("server_name = \"bad name\"").find("server_name") != std::string::npos);
  CHECK(message("this is not toml").find("test") != std::string::npos);
}

TEST_CASE("http and metrics sections") {
  auto c = parse_config("[http]\nmax_connections = 100\nmax_connections_per_ip = 10\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\n"
                        "[metrics]\nenabled = true\nlisten_port = 9200\n", "test");
  CHECK(c.http.max_connections == 100);
  CHECK(c.http.max_connections_per_ip == 10);
  CHECK(c.http.trusted_proxies.size() == 2);
  CHECK(c.metrics.enabled);
  CHECK(c.metrics.listen_port == 9200);
  CHECK_THROWS_WITH_AS(parse_config("[http]\ntrusted_proxies = [\"proxy.local\"]\n", "t"),
                       doctest::Contains("http.trusted_proxies"), ConfigError);
  CHECK_THROWS_WITH_AS(parse_config("listen_port = 9300\n[metrics]\nenabled = true\nlisten_port = 9300\n", "t"),
                       doctest::Contains("must differ"), ConfigError);
  CHECK_THROWS_AS(parse_config("[http]\nmax_connections = 1\n", "t"), ConfigError);
}

TEST_CASE("turn section") {
  auto c = parse_config("[turn]\nuris = [\"turn:t.example:3478\", \"turns:t.example:5349\"]\nshared_secret = \"0123456789abcdef0123\"\nttl = 600\n", "t");
  CHECK(c.turn.uris.size() == 2);
  CHECK(c.turn.ttl_seconds == 600);
  CHECK_THROWS_WITH_AS(parse_config("[turn]\nuris = [\"http://x\"]\nshared_secret = \"0123456789abcdef0123\"\n", "t"),
                       doctest::Contains("turn.uris"), ConfigError);
  CHECK_THROWS_WITH_AS(parse_config("[turn]\nuris = [\"turn:x\"]\nshared_secret = \"short\"\n", "t"),
                       doctest::Contains("turn.shared_secret"), ConfigError);
  CHECK_THROWS_WITH_AS(parse_config("[turn]\nshared_secret_file = \"/nonexistent/secret\"\n", "t"),
                       doctest::Contains("cannot read"), ConfigError);
}
