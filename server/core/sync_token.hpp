// Stream tokens: "s<stream position>_<typing serial>_<to-device position>" for sync; pagination
// accepts the same form (and the older two-part form).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lotse::core {

struct SyncToken {
  std::int64_t stream = 0;
  std::uint64_t typing = 0;
  std::int64_t to_device = 0;  // last to-device message delivered to this device

  std::string encode() const;
  static std::optional<SyncToken> parse(std::string_view text);
};

}  // namespace lotse::core
