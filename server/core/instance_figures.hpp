// Figures about the whole instance for /metrics, read at scrape time: counts only, no identifiers.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "server/store/database.hpp"

namespace lotse::core {

struct InstanceFigures {
  std::map<std::string, std::int64_t> users_by_role;  // active accounts
  std::int64_t open_consultations = 0;
  std::int64_t database_bytes = 0;  // pages in use by the main database file
  std::int64_t media_bytes = 0;     // distinct stored files (uploads and thumbnails)
};

InstanceFigures instance_figures(store::Database& db);

}  // namespace lotse::core
