// Limited JSON parsing (see safe_json.hpp).
#include "e2ee/safe_json.hpp"

#include <cmath>

namespace lotse::e2ee {
namespace {

constexpr std::int64_t kMaxSafe = (std::int64_t{1} << 53) - 1;

void check(const boost::json::value& v, const JsonLimits& limits, std::size_t depth) {
  using K = JsonLimitError::Kind;
  switch (v.kind()) {
    case boost::json::kind::int64: {
      auto n = v.get_int64();
      if (n > kMaxSafe || n < -kMaxSafe) throw JsonLimitError(K::number, "Integers must lie within +-(2^53 - 1).");
      break;
    }
    case boost::json::kind::uint64:
      if (v.get_uint64() > static_cast<std::uint64_t>(kMaxSafe))
        throw JsonLimitError(K::number, "Integers must lie within +-(2^53 - 1).");
      break;
    case boost::json::kind::double_: {
      double d = v.get_double();
      if (!limits.allow_fractions)
        throw JsonLimitError(K::number, "Numbers must be integers within +-(2^53 - 1), without fractions or exponents.");
      if (!std::isfinite(d) || std::fabs(d) > static_cast<double>(kMaxSafe))
        throw JsonLimitError(K::number, "Numbers must be finite and within +-(2^53 - 1).");
      break;
    }
    case boost::json::kind::string:
      if (v.get_string().size() > limits.max_string_bytes)
        throw JsonLimitError(K::size, "A string is longer than " + std::to_string(limits.max_string_bytes) + " bytes.");
      break;
    case boost::json::kind::array: {
      if (depth > limits.max_depth) throw JsonLimitError(K::depth, "JSON nested too deeply.");
      const auto& a = v.get_array();
      if (a.size() > limits.max_items)
        throw JsonLimitError(K::size, "An array has more than " + std::to_string(limits.max_items) + " elements.");
      for (const auto& e : a) check(e, limits, depth + 1);
      break;
    }
    case boost::json::kind::object: {
      if (depth > limits.max_depth) throw JsonLimitError(K::depth, "JSON nested too deeply.");
      const auto& o = v.get_object();
      if (o.size() > limits.max_items)
        throw JsonLimitError(K::size, "An object has more than " + std::to_string(limits.max_items) + " members.");
      for (const auto& kv : o) {
        if (kv.key().size() > limits.max_string_bytes)
          throw JsonLimitError(K::size, "A key is longer than " + std::to_string(limits.max_string_bytes) + " bytes.");
        check(kv.value(), limits, depth + 1);
      }
      break;
    }
    default: break;
  }
}

}  // namespace

void check_limits(const boost::json::value& value, const JsonLimits& limits) { check(value, limits, 1); }

boost::json::value parse_limited(std::string_view text, const JsonLimits& limits) {
  boost::json::parse_options opts;
  opts.max_depth = limits.max_depth;
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec, {}, opts);
  if (ec == boost::json::error::too_deep) throw JsonLimitError(JsonLimitError::Kind::depth, "JSON nested too deeply.");
  if (ec) throw JsonLimitError(JsonLimitError::Kind::syntax, "Content not JSON.");
  check(v, limits, 1);
  return v;
}

}  // namespace lotse::e2ee
