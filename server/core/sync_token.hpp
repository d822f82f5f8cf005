// Stream tokens: "s<stream position>_<typing serial>" for sync; pagination accepts the same form.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lotse::core {

struct SyncToken {
  std::int64_t stream = 0;
  std::uint64_t typing = 0;

  std::string encode() const;
  static std::optional<SyncToken> parse(std::string_view text);
};

}  // namespace lotse::core
