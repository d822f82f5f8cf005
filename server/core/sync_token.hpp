// Stream tokens: "s<stream position>_<typing serial>_<to-device position>_<presence serial>" for
// sync; the older two- and three-part forms still parse (the missing parts as 0), for pagination too.
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
  std::uint64_t presence = 0;

  std::string encode() const;
  static std::optional<SyncToken> parse(std::string_view text);
};

}  // namespace lotse::core
