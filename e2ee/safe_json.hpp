// The one way Lotse parses JSON it did not just build itself: request bodies and stored values.
// Both use the same limits, so whatever the server accepted it can always read back, and no
// number can overflow to infinity: numbers must be integers in canonical JSON's range.
#pragma once
#include <boost/json.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace lotse::e2ee {

struct JsonLimits {
  std::size_t max_depth = 32;              // nesting of objects and arrays, the outermost counts 1
  std::size_t max_string_bytes = 262144;   // each string and each object key
  std::size_t max_items = 20000;           // members of one object or elements of one array
  // Finite non-integers (within +-2^53) are allowed only where the spec has them: a room tag's `order`.
  bool allow_fractions = false;
};

// The limits of request bodies. Stored values are parts of accepted bodies, wrapped at most a few
// levels deeper by the server (an event around its content, a to-device envelope), so they are read
// with kStoredLimits, which adds that headroom.
inline constexpr JsonLimits kBodyLimits{};
inline constexpr JsonLimits kStoredLimits{kBodyLimits.max_depth + 8, kBodyLimits.max_string_bytes,
                                          kBodyLimits.max_items, true};
inline constexpr JsonLimits kTagBodyLimits{kBodyLimits.max_depth, kBodyLimits.max_string_bytes, kBodyLimits.max_items,
                                           true};

// Why a text was refused; what() is a sentence for the Matrix error's `error`.
struct JsonLimitError : std::runtime_error {
  enum class Kind { syntax, depth, number, size };
  Kind kind;
  JsonLimitError(Kind k, const std::string& what) : std::runtime_error(what), kind(k) {}
};

// Parses and checks `text`; throws JsonLimitError. Integers must lie in [-(2^53)+1, (2^53)-1];
// non-integer numbers are refused unless the limits allow fractions (never infinity or NaN).
boost::json::value parse_limited(std::string_view text, const JsonLimits& limits = kBodyLimits);
// Checks an already parsed value against the limits (depth counted from `value` as 1).
void check_limits(const boost::json::value& value, const JsonLimits& limits = kBodyLimits);

// For stored rows: parse_limited with kStoredLimits. Callers that serve lists catch JsonLimitError
// per item, log it and skip the item, so one bad row never costs a whole answer.
inline boost::json::value parse_stored(std::string_view text) { return parse_limited(text, kStoredLimits); }
inline boost::json::object parse_stored_object(std::string_view text) {
  auto v = parse_stored(text);
  if (!v.is_object()) throw JsonLimitError(JsonLimitError::Kind::syntax, "stored JSON is not an object");
  return std::move(v.get_object());
}

}  // namespace lotse::e2ee
