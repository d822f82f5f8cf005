// Token encoding; parsing is strict so a garbled token is rejected instead of silently reset.
#include "server/core/sync_token.hpp"

#include <charconv>

namespace lotse::core {

std::string SyncToken::encode() const {
  return "s" + std::to_string(stream) + "_" + std::to_string(typing) + "_" + std::to_string(to_device) + "_" +
         std::to_string(presence);
}

namespace {
template <typename T>
bool parse_number(std::string_view text, T& out) {
  if (text.empty()) return false;
  auto r = std::from_chars(text.data(), text.data() + text.size(), out);
  return r.ec == std::errc() && r.ptr == text.data() + text.size();
}
}  // namespace

std::optional<SyncToken> SyncToken::parse(std::string_view text) {
  if (text.size() < 4 || text[0] != 's') return std::nullopt;
  text.remove_prefix(1);
  SyncToken t;
  auto first = text.find('_');
  if (first == std::string_view::npos || !parse_number(text.substr(0, first), t.stream) || t.stream < 0)
    return std::nullopt;
  text.remove_prefix(first + 1);
  auto second = text.find('_');
  if (!parse_number(text.substr(0, second), t.typing)) return std::nullopt;
  if (second == std::string_view::npos) return t;
  text.remove_prefix(second + 1);
  auto third = text.find('_');
  if (!parse_number(text.substr(0, third), t.to_device) || t.to_device < 0) return std::nullopt;
  if (third != std::string_view::npos && !parse_number(text.substr(third + 1), t.presence)) return std::nullopt;
  return t;
}

}  // namespace lotse::core
