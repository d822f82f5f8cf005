// Canonical JSON: whatever Boost.JSON parses either cannot be represented (CanonicalJsonError) or
// canonicalises to text that parses again and canonicalises to the same bytes (idempotence).
#include <string_view>

#include "e2ee/canonical_json.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  boost::system::error_code ec;
  boost::json::parse_options opts;
  opts.max_depth = 64;  // as Request::json_object
  boost::json::value v = boost::json::parse(text, ec, {}, opts);
  if (ec) return 0;
  std::string first;
  try {
    first = lotse::e2ee::canonical_json(v);
  } catch (const lotse::e2ee::CanonicalJsonError&) {
    return 0;
  }
  boost::json::value again = boost::json::parse(first, ec);
  FUZZ_CHECK(!ec, "canonical JSON output does not parse");
  std::string second;
  try {
    second = lotse::e2ee::canonical_json(again);
  } catch (const lotse::e2ee::CanonicalJsonError&) {
    FUZZ_CHECK(false, "canonical JSON output is not canonicalisable");
  }
  FUZZ_CHECK(first == second, "canonical JSON is not idempotent");
  // The escaping helper alone: every string survives a round trip through it.
  if (v.is_string()) {
    std::string quoted;
    lotse::e2ee::append_json_string(quoted, v.get_string());
    auto s = boost::json::parse(quoted, ec);
    FUZZ_CHECK(!ec && s.is_string() && s.get_string() == v.get_string(), "append_json_string round trip");
  }
  return 0;
}
