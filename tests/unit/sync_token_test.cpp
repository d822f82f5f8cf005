// Sync token encoding.
#include <doctest/doctest.h>

#include "server/core/sync_token.hpp"

using lotse::core::SyncToken;

TEST_CASE("sync tokens round-trip and reject garbage") {
  SyncToken t{12345, 1700000000000ULL, 77, 1700000000123ULL};
  auto parsed = SyncToken::parse(t.encode());
  REQUIRE(parsed);
  CHECK(parsed->stream == 12345);
  CHECK(parsed->typing == 1700000000000ULL);
  CHECK(parsed->to_device == 77);
  CHECK(parsed->presence == 1700000000123ULL);
  auto two_part = SyncToken::parse("s5_6");
  REQUIRE(two_part);
  CHECK(two_part->to_device == 0);
  auto three_part = SyncToken::parse("s5_6_7");  // tokens from before presence
  REQUIRE(three_part);
  CHECK(three_part->to_device == 7);
  CHECK(three_part->presence == 0);
  for (auto bad : {"", "s", "s1", "x1_2", "s_2", "s1_", "s-1_2", "s1_2x", "s99999999999999999999_1", "s1_2_", "s1_2_x",
                   "s1_2_-3", "s1_2_3_", "s1_2_3_x", "s1_2_3_-4", "s1_2_3_4_5"})
    CHECK_FALSE(SyncToken::parse(bad).has_value());
}
