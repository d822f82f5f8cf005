// The request JSON parser (e2ee/safe_json.hpp). Whatever parse_limited accepts must
//  (1) serialise with boost::json::serialize and parse again under the same limits to an equal value,
//  (2) pass check_limits and canonical_json (so it can be hashed and signed),
//  (3) still be readable as a stored value (parse_stored) when wrapped in the server's envelopes.
// Everything else must be refused with JsonLimitError, never another exception.
// The first input byte picks the limits: the request body limits, or small ones to reach the edges.
#include <string>

#include "e2ee/canonical_json.hpp"
#include "e2ee/safe_json.hpp"
#include "fuzz_check.hpp"

using namespace lotse::e2ee;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  if (size == 0) return 0;
  JsonLimits limits = kBodyLimits;
  if (data[0] & 0x80)  // small limits: depth 1..8, strings 0..15 bytes, 0..7 items
    limits = JsonLimits{1u + (data[0] & 7u), (data[0] >> 3) & 15u, static_cast<std::size_t>(data[0] & 7u)};
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  boost::json::value v;
  try {
    v = parse_limited(text, limits);
  } catch (const JsonLimitError& e) {
    FUZZ_CHECK(e.what()[0] != '\0', "a JsonLimitError without a message");
    return 0;
  }
  std::string serialized = boost::json::serialize(v);
  boost::json::value again;
  try {
    again = parse_limited(serialized, limits);
  } catch (const JsonLimitError& e) {
    std::fprintf(stderr, "re-parse refused: %s\n", e.what());
    FUZZ_CHECK(false, "the serialisation of an accepted value is refused");
  }
  FUZZ_CHECK(again == v, "the re-parsed value differs");
  try {
    check_limits(v, limits);
  } catch (const JsonLimitError& e) {
    FUZZ_CHECK(false, "check_limits refuses what parse_limited accepted");
  }
  std::string canonical;
  try {
    canonical = canonical_json(v);
  } catch (const CanonicalJsonError& e) {
    FUZZ_CHECK(false, "canonical_json refuses what parse_limited accepted");
  }
  FUZZ_CHECK(parse_limited(canonical, limits) == v, "the canonical form parses to another value");

  if (!(data[0] & 0x80)) {
    // An event around its content, or a to-device envelope: kStoredLimits allows 8 more levels.
    boost::json::value wrapped = v;
    for (int i = 0; i < 8; ++i) wrapped = boost::json::object{{"content", std::move(wrapped)}};
    try {
      FUZZ_CHECK(parse_stored(boost::json::serialize(wrapped)) == wrapped, "stored value differs");
    } catch (const JsonLimitError& e) {
      std::fprintf(stderr, "stored read refused: %s\n", e.what());
      FUZZ_CHECK(false, "an accepted body wrapped 8 levels deep cannot be read back as stored JSON");
    }
  }
  return 0;
}
