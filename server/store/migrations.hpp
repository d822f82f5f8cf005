// The SQL migrations of schemas/, embedded into the binary at build time (see server/CMakeLists.txt).
#pragma once
#include <string_view>
#include <vector>

namespace lotse::store {
struct Migration {
  int version;
  std::string_view sql;
};
const std::vector<Migration>& migrations();
}  // namespace lotse::store
