// The Range header against RFC 9110 section 14: valid forms, clamping, and the invalid forms that
// once slipped through (negative numbers, a huge end).
#include <doctest/doctest.h>

#include "server/http/range.hpp"

using lotse::http::parse_range;
using Kind = lotse::http::RangeDecision::Kind;

TEST_CASE("valid single ranges") {
  auto r = parse_range("bytes=0-499", 1000);
  CHECK(r.kind == Kind::partial);
  CHECK(r.first == 0);
  CHECK(r.last == 499);
  r = parse_range("bytes=500-", 1000);
  CHECK((r.kind == Kind::partial && r.first == 500 && r.last == 999));
  r = parse_range("bytes=-200", 1000);
  CHECK((r.kind == Kind::partial && r.first == 800 && r.last == 999));
  r = parse_range("bytes=-5000", 1000);  // suffix longer than the file: the whole file as 206
  CHECK((r.kind == Kind::partial && r.first == 0 && r.last == 999));
  r = parse_range("Bytes=1-1", 1000);  // the unit is case-insensitive
  CHECK((r.kind == Kind::partial && r.first == 1 && r.last == 1));
}

TEST_CASE("an end past the file is clamped, however large") {
  auto r = parse_range("bytes=10-999999999999999999999999999999", 100);
  CHECK(r.kind == Kind::partial);
  CHECK(r.first == 10);
  CHECK(r.last == 99);
  r = parse_range("bytes=0-18446744073709551615", 100);
  CHECK((r.kind == Kind::partial && r.last == 99));
}

TEST_CASE("unsatisfiable ranges") {
  CHECK(parse_range("bytes=1000-", 1000).kind == Kind::unsatisfiable);
  CHECK(parse_range("bytes=99999999999999999999999-", 1000).kind == Kind::unsatisfiable);
  CHECK(parse_range("bytes=99999999999999999999999-99999999999999999999999", 1000).kind == Kind::unsatisfiable);
  CHECK(parse_range("bytes=-0", 1000).kind == Kind::unsatisfiable);
  CHECK(parse_range("bytes=0-", 0).kind == Kind::unsatisfiable);
  CHECK(parse_range("bytes=-1", 0).kind == Kind::unsatisfiable);
}

TEST_CASE("invalid headers are ignored: the whole file") {
  for (const char* h : {"bytes=--1", "bytes=1--2", "bytes=-", "bytes=", "bytes=a-b", "bytes=1-a", "bytes=+1-2",
                        "bytes=1-+2", "bytes=5-2", "bytes=0x1-2", "bytes= 1 - 2", "items=0-1", "bytes", "=0-1",
                        "bytes=0-1,3-4", "bytes=99999999999999999999999-99999999999999999999998", "bytes=1-2-3", "bytes=\xff-1"}) {
    INFO(h);
    CHECK(parse_range(h, 1000).kind == Kind::whole);
  }
  using namespace std::string_view_literals;
  CHECK(parse_range("bytes=1-2\0"sv, 1000).kind == Kind::whole);
}
