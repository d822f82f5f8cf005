// The Range request header for one byte range (RFC 9110 section 14). A syntactically invalid header
// (or several ranges, which we do not combine) is ignored and the whole file is served, as the RFC
// allows; a valid range that lies wholly beyond the file is unsatisfiable (416).
#pragma once
#include <cstdint>
#include <string_view>

namespace lotse::http {

struct RangeDecision {
  enum class Kind { whole, partial, unsatisfiable };
  Kind kind = Kind::whole;
  std::uint64_t first = 0;  // for partial: first and last byte, inclusive, last < size
  std::uint64_t last = 0;
};

RangeDecision parse_range(std::string_view header, std::uint64_t size);

}  // namespace lotse::http
