// Range header parsing (see range.hpp).
#include "server/http/range.hpp"

#include <limits>

namespace lotse::http {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// 1*DIGIT, saturating at the largest value (a huge last-pos still means "to the end").
bool parse_digits(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    auto d = static_cast<std::uint64_t>(c - '0');
    v = v > (kMax - d) / 10 ? kMax : v * 10 + d;
  }
  out = v;
  return true;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// a < b for two 1*DIGIT strings of any length.
bool decimal_less(std::string_view a, std::string_view b) {
  while (a.size() > 1 && a.front() == '0') a.remove_prefix(1);
  while (b.size() > 1 && b.front() == '0') b.remove_prefix(1);
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

RangeDecision parse_range(std::string_view header, std::uint64_t size) {
  RangeDecision whole;
  auto eq = header.find('=');
  if (eq == std::string_view::npos || !iequals(header.substr(0, eq), "bytes")) return whole;
  std::string_view spec = trim_ows(header.substr(eq + 1));
  if (spec.find(',') != std::string_view::npos) return whole;  // several ranges: served whole
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return whole;
  std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  RangeDecision out;
  out.kind = RangeDecision::Kind::partial;
  if (a.empty()) {  // suffix-range: the last n bytes
    std::uint64_t n = 0;
    if (!parse_digits(b, n)) return whole;
    if (n == 0 || size == 0) return RangeDecision{RangeDecision::Kind::unsatisfiable};
    out.first = n >= size ? 0 : size - n;
    out.last = size - 1;
    return out;
  }
  std::uint64_t first = 0, last = std::numeric_limits<std::uint64_t>::max();
  if (!parse_digits(a, first)) return whole;
  if (!b.empty() && !parse_digits(b, last)) return whole;
  // Invalid range-spec (RFC 9110 14.1.1): ignored. Saturated values are compared as decimals.
  if (last < first || (!b.empty() && last == first && decimal_less(b, a))) return whole;
  if (first >= size) return RangeDecision{RangeDecision::Kind::unsatisfiable};
  out.first = first;
  out.last = last >= size ? size - 1 : last;
  return out;
}

}  // namespace lotse::http
