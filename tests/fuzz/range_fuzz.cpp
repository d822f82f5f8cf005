// The Range header parser (server/http/range.hpp). A partial answer lies within [0, size) and is not
// empty; and for headers of the plain form "bytes=A-B" (A, B digits or empty) the answer equals a
// reference re-stated from RFC 9110 section 14 (values saturate; last < first is compared exactly).
// Input: a first byte below 0x80 is the file size (0..127); otherwise the next 8 bytes are it
// (big-endian). The rest is the header value.
#include <limits>
#include <string>

#include "fuzz_check.hpp"
#include "server/http/range.hpp"

using lotse::http::parse_range;
using lotse::http::RangeDecision;
using Kind = RangeDecision::Kind;

namespace {

constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();

bool all_digits(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

std::uint64_t saturating(std::string_view s) {
  unsigned __int128 v = 0;
  for (char c : s) {
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > kMax) return kMax;
  }
  return static_cast<std::uint64_t>(v);
}

bool decimal_less(std::string_view a, std::string_view b) {
  while (a.size() > 1 && a.front() == '0') a.remove_prefix(1);
  while (b.size() > 1 && b.front() == '0') b.remove_prefix(1);
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

// Only for "bytes=" A "-" B with A and B all digits (possibly empty).
RangeDecision reference(std::string_view a, std::string_view b, std::uint64_t size) {
  if (a.empty()) {
    if (b.empty()) return {};
    std::uint64_t n = saturating(b);
    if (n == 0 || size == 0) return {Kind::unsatisfiable};
    return {Kind::partial, n >= size ? 0 : size - n, size - 1};
  }
  std::uint64_t first = saturating(a), last = b.empty() ? kMax : saturating(b);
  if (!b.empty() && decimal_less(b, a)) return {};  // last-pos < first-pos, compared exactly
  if (first >= size) return {Kind::unsatisfiable};
  return {Kind::partial, first, last >= size ? size - 1 : last};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  if (size == 0) return 0;
  std::uint64_t file_size = data[0];
  std::size_t skip = 1;
  if (data[0] >= 0x80) {
    if (size < 9) return 0;
    file_size = 0;
    for (int i = 1; i <= 8; ++i) file_size = file_size << 8 | data[i];
    skip = 9;
  }
  std::string_view header(reinterpret_cast<const char*>(data) + skip, size - skip);

  RangeDecision d = parse_range(header, file_size);
  if (d.kind == Kind::partial) {
    FUZZ_CHECK(file_size > 0, "a partial range of an empty file");
    FUZZ_CHECK(d.first <= d.last, "an empty or reversed range");
    FUZZ_CHECK(d.last < file_size, "a range beyond the end of the file");
    FUZZ_CHECK(d.last - d.first + 1 <= file_size, "a range longer than the file");
  }
  if (d.kind != Kind::whole) {
    auto eq = header.find('=');
    FUZZ_CHECK(eq == 5, "a range without the bytes unit");
  }

  if (header.substr(0, 6) == "bytes=") {
    std::string_view spec = header.substr(6);
    auto dash = spec.find('-');
    if (dash != std::string_view::npos && all_digits(spec.substr(0, dash)) && all_digits(spec.substr(dash + 1))) {
      RangeDecision r = reference(spec.substr(0, dash), spec.substr(dash + 1), file_size);
      FUZZ_CHECK(r.kind == d.kind, "another decision than RFC 9110's");
      if (r.kind == Kind::partial) FUZZ_CHECK(r.first == d.first && r.last == d.last, "another range than RFC 9110's");
    }
  }
  return 0;
}
