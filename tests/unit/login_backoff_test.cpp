// Per-account login back-off: free failures, doubling waits, a ceiling (no permanent lock-out).
#include <doctest/doctest.h>

#include "server/core/login_backoff.hpp"

using lotse::core::LoginBackoff;
using namespace std::chrono_literals;

TEST_CASE("waits start after the free failures, double, and stop growing at the ceiling") {
  LoginBackoff b;
  auto t = LoginBackoff::Clock::now();
  for (int i = 0; i < 4; ++i) b.failed("@a:x", t);
  CHECK(b.wait_ms("@a:x", t) == 0);
  b.failed("@a:x", t);  // 5th
  CHECK(b.wait_ms("@a:x", t) > 900);
  CHECK(b.wait_ms("@a:x", t) <= 1001);
  CHECK(b.wait_ms("@a:x", t + 1001ms) == 0);
  b.failed("@a:x", t);  // 6th: 2 s
  CHECK(b.wait_ms("@a:x", t + 1500ms) > 0);
  for (int i = 0; i < 40; ++i) b.failed("@a:x", t);
  CHECK(b.wait_ms("@a:x", t) <= 15 * 60 * 1000 + 1);
  CHECK(b.wait_ms("@a:x", t + 15min + 1ms) == 0);
  CHECK(b.wait_ms("@other:x", t) == 0);
}

TEST_CASE("success and time forget the failures; the map stays bounded") {
  LoginBackoff::Settings s;
  s.max_accounts = 100;
  LoginBackoff b(s);
  auto t = LoginBackoff::Clock::now();
  for (int i = 0; i < 6; ++i) b.failed("@a:x", t);
  b.succeeded("@a:x");
  CHECK(b.wait_ms("@a:x", t) == 0);
  for (int i = 0; i < 6; ++i) b.failed("@b:x", t);
  CHECK(b.wait_ms("@b:x", t + 25h) == 0);
  for (int i = 0; i < 1000; ++i) b.failed("@flood" + std::to_string(i) + ":x", t);
  CHECK(b.tracked() <= 101);
  // Names that each fail often (past the free failures) are bounded too.
  for (int i = 0; i < 1000; ++i)
    for (int k = 0; k < 7; ++k) b.failed("@stubborn" + std::to_string(i) + ":x", t + std::chrono::milliseconds(i));
  CHECK(b.tracked() <= 101);
}
