// Matrix canonical JSON (appendices: "Canonical JSON"): sorted keys, no whitespace, integers only.
#pragma once
#include <boost/json.hpp>
#include <stdexcept>
#include <string>

namespace lotse::e2ee {

// Thrown when a value cannot be represented in canonical JSON (floats, integers beyond 2^53).
struct CanonicalJsonError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Serialises `value` as canonical JSON. Throws CanonicalJsonError for non-integral numbers
// or integers outside [-(2^53)+1, (2^53)-1].
std::string canonical_json(const boost::json::value& value);

// Appends the JSON string encoding of `s` (minimal escaping, UTF-8 passed through) to `out`.
void append_json_string(std::string& out, std::string_view s);

}  // namespace lotse::e2ee
