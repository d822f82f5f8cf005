// Sync token encoding.
#include <doctest/doctest.h>

#include "server/core/sync_token.hpp"

using lotse::core::SyncToken;

TEST_CASE("sync tokens round-trip and reject garbage") {
  SyncToken t{12345, 1700000000000ULL};
  auto parsed = SyncToken::parse(t.encode());
  REQUIRE(parsed);
  CHECK(parsed->stream == 12345);
  CHECK(parsed->typing == 1700000000000ULL);
  for (auto bad : {"", "s", "s1", "x1_2", "s_2", "s1_", "s-1_2", "s1_2x", "s99999999999999999999_1"})
    CHECK_FALSE(SyncToken::parse(bad).has_value());
}
