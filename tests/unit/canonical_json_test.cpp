// Canonical JSON against the examples of the spec's appendices.
#include <doctest/doctest.h>

#include "e2ee/canonical_json.hpp"

using lotse::e2ee::canonical_json;

static std::string canon(const char* text) { return canonical_json(boost::json::parse(text)); }

TEST_CASE("canonical JSON: spec examples") {
  CHECK(canon("{}") == "{}");
  CHECK(canon(R"({"one": 1, "two": "Two"})") == R"({"one":1,"two":"Two"})");
  CHECK(canon(R"({"b": "2", "a": "1"})") == R"({"a":"1","b":"2"})");
  CHECK(canon(R"({"auth":{"success":true,"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe",)"
              R"("three_pids":[{"medium":"email","address":"john.doe@example.org"},{"medium":"msisdn","address":"123456789"}]}}})") ==
        R"({"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}})");
  CHECK(canon(R"({"a": "日本語"})") == R"({"a":"日本語"})");
  CHECK(canon(R"({"本": 2, "日": 1})") == R"({"日":1,"本":2})");
  CHECK(canon(R"({"a": "\u65E5"})") == R"({"a":"日"})");
  CHECK(canon(R"({"a": null})") == R"({"a":null})");
  CHECK(canon(R"({"a": -0, "b": 1e10})") == R"({"a":0,"b":10000000000})");
}

TEST_CASE("canonical JSON: escapes and limits") {
  CHECK(canon(R"({"a":"\u0001\n\"\\\u001f/"})") == "{\"a\":\"\\u0001\\n\\\"\\\\\\u001f/\"}");
  CHECK_THROWS_AS(canon(R"({"a": 1.5})"), lotse::e2ee::CanonicalJsonError);
  CHECK_THROWS_AS(canon(R"({"a": 9007199254740992})"), lotse::e2ee::CanonicalJsonError);
  CHECK(canon(R"({"a": -9007199254740991})") == R"({"a":-9007199254740991})");
}
