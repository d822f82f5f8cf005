// Token encoding; parsing is strict so a garbled token is rejected instead of silently reset.
#include "server/core/sync_token.hpp"

#include <charconv>

namespace lotse::core {

std::string SyncToken::encode() const { return "s" + std::to_string(stream) + "_" + std::to_string(typing); }

std::optional<SyncToken> SyncToken::parse(std::string_view text) {
  if (text.size() < 4 || text[0] != 's') return std::nullopt;
  auto sep = text.find('_');
  if (sep == std::string_view::npos) return std::nullopt;
  SyncToken t;
  auto s = text.substr(1, sep - 1);
  auto ty = text.substr(sep + 1);
  auto r1 = std::from_chars(s.data(), s.data() + s.size(), t.stream);
  if (r1.ec != std::errc() || r1.ptr != s.data() + s.size() || s.empty() || t.stream < 0) return std::nullopt;
  auto r2 = std::from_chars(ty.data(), ty.data() + ty.size(), t.typing);
  if (r2.ec != std::errc() || r2.ptr != ty.data() + ty.size() || ty.empty()) return std::nullopt;
  return t;
}

}  // namespace lotse::core
