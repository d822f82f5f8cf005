// Sync token encoding.
#include <doctest/doctest.h>

#include "server/core/sync_token.hpp"

using lotse::core::SyncToken;

TEST_CASE("sync tokens round-trip and reject garbage") {
  SyncToken t{12345, 1700000000000ULL, 77};
  auto parsed = SyncToken::parse(t.encode());
  REQUIRE(parsed);
  CHECK(parsed->stream == 12345);
  CHECK(parsed->typing == 1700000000000ULL);
  CHECK(parsed->to_device == 77);
  auto two_part = SyncToken::parse("s5_6");
  REQUIRE(two_part);
  CHECK(two_part->to_device == 0);
  for (auto bad : {"", "s", "s1", "x1_2", "s_2", "s1_", "s-1_2", "s1_2x", "s99999999999999999999_1", "s1_2_", "s1_2_x",
                   "s1_2_-3", "s1_2_3_4"})
    CHECK_FALSE(SyncToken::parse(bad).has_value());
}
