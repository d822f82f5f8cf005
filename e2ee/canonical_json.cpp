// Canonical JSON encoder; also used for every JSON response so output is compact and stable.
#include "e2ee/canonical_json.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace lotse::e2ee {
namespace {

constexpr std::int64_t kMaxSafe = (std::int64_t{1} << 53) - 1;

void append_value(std::string& out, const boost::json::value& v);

void append_int(std::string& out, std::int64_t n) {
  if (n > kMaxSafe || n < -kMaxSafe) throw CanonicalJsonError("integer out of canonical JSON range");
  out += std::to_string(n);
}

void append_object(std::string& out, const boost::json::object& o) {
  std::vector<const boost::json::key_value_pair*> members;
  members.reserve(o.size());
  for (const auto& kv : o) members.push_back(&kv);
  // Byte-wise comparison of UTF-8 equals code point order.
  std::sort(members.begin(), members.end(),
            [](auto* a, auto* b) { return a->key() < b->key(); });
  out += '{';
  bool first = true;
  for (auto* kv : members) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, kv->key());
    out += ':';
    append_value(out, kv->value());
  }
  out += '}';
}

void append_value(std::string& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null: out += "null"; break;
    case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
    case boost::json::kind::int64: append_int(out, v.get_int64()); break;
    case boost::json::kind::uint64: {
      auto u = v.get_uint64();
      if (u > static_cast<std::uint64_t>(kMaxSafe)) throw CanonicalJsonError("integer out of canonical JSON range");
      append_int(out, static_cast<std::int64_t>(u));
      break;
    }
    case boost::json::kind::double_: {
      double d = v.get_double();
      // -0 and 1e10 are integers written in another form; real fractions are not allowed.
      if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) > static_cast<double>(kMaxSafe))
        throw CanonicalJsonError("floats are not allowed in canonical JSON");
      append_int(out, static_cast<std::int64_t>(d));
      break;
    }
    case boost::json::kind::string: append_json_string(out, v.get_string()); break;
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        append_value(out, e);
      }
      out += ']';
      break;
    }
    case boost::json::kind::object: append_object(out, v.get_object()); break;
  }
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;  // start of the current run of characters that need no escaping
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

std::string canonical_json(const boost::json::value& value) {
  std::string out;
  out.reserve(256);
  append_value(out, value);
  return out;
}

}  // namespace lotse::e2ee
