// The limited JSON parser: what it accepts always reads back (also as a stored value), and the
// forms that once broke reads (deep nesting, overflowing numbers) are refused.
#include <doctest/doctest.h>

#include <string>

#include "e2ee/canonical_json.hpp"
#include "e2ee/safe_json.hpp"

using namespace lotse::e2ee;

namespace {
std::string nested(std::size_t depth) {
  std::string s;
  for (std::size_t i = 0; i < depth; ++i) s += "{\"a\":";
  s += "1";
  for (std::size_t i = 0; i < depth; ++i) s += "}";
  return s;
}
}  // namespace

TEST_CASE("depth: the limit is accepted and reads back, one more is refused") {
  auto v = parse_limited(nested(kBodyLimits.max_depth));
  CHECK_NOTHROW(parse_stored(boost::json::serialize(v)));
  // Stored values may be wrapped a few levels deeper by the server and still read back.
  boost::json::object wrapped{{"content", v}};
  CHECK_NOTHROW(parse_stored(boost::json::serialize(wrapped)));
  CHECK_THROWS_AS(parse_limited(nested(kBodyLimits.max_depth + 1)), JsonLimitError);
  try {
    parse_limited(nested(100));
  } catch (const JsonLimitError& e) {
    CHECK(e.kind == JsonLimitError::Kind::depth);
  }
}

TEST_CASE("numbers: canonical JSON's integer range only") {
  CHECK_NOTHROW(parse_limited("{\"a\":9007199254740991,\"b\":-9007199254740991}"));
  for (const char* bad : {"{\"a\":9007199254740992}", "{\"a\":-9007199254740992}", "{\"a\":18446744073709551615}",
                          "{\"a\":1e400}", "{\"a\":-1e400}", "{\"a\":0.5}", "{\"a\":1.0}", "{\"a\":1e3}",
                          "[123456789012345678901234567890]"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_limited(bad), JsonLimitError);
  }
  // A tag's order is the API's one fraction; infinity is never accepted.
  CHECK_NOTHROW(parse_limited("{\"order\":0.25}", kTagBodyLimits));
  CHECK_THROWS_AS(parse_limited("{\"order\":1e400}", kTagBodyLimits), JsonLimitError);
}

TEST_CASE("whatever is accepted is canonical JSON") {
  auto v = parse_limited(R"({"b":[1,2,{"c":null,"d":true}],"a":"\u00e9\u0000x","e":-0})");
  CHECK_NOTHROW(canonical_json(v));
}

TEST_CASE("syntax errors and sizes") {
  for (const char* bad : {"", "{", "{\"a\":}", "nul", "{\"a\":1}x", "\"\xff\""}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_limited(bad), JsonLimitError);
  }
  std::string big = "\"" + std::string(kBodyLimits.max_string_bytes + 1, 'x') + "\"";
  CHECK_THROWS_AS(parse_limited(big), JsonLimitError);
  std::string many = "[";
  for (std::size_t i = 0; i <= kBodyLimits.max_items; ++i) many += i ? ",0" : "0";
  many += "]";
  CHECK_THROWS_AS(parse_limited(many), JsonLimitError);
}
