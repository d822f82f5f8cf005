// Bookkeeping of the old-system import (lotse-bridge): which accounts and rooms it created. The
// admin import API writes only into these, so it cannot be used to act as any other user or room.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "server/store/database.hpp"

namespace lotse::core {

// The device id under which imported messages' transaction ids are kept, and the bridge's account:
// reserved, so no client can log in as that device or register that name.
inline constexpr const char* kImportDeviceId = "lotse-bridge-import";
inline constexpr const char* kBridgeLocalpart = "lotse-bridge";

struct ImportedRoom {
  std::string import_id, room_id, kind;
};

class Imports {
 public:
  explicit Imports(store::Database& db) : db_(db) {}

  // Marks a just-created account as imported, with its creation time in the old system; a
  // deactivated one keeps its display name (its messages still say who wrote them).
  void mark_user(store::WriteUnit&, const std::string& user_id, std::int64_t created_ts, bool deactivated);

  // The person's real e-mail address from the old system (never a dummy one).
  void set_email(store::WriteUnit&, const std::string& user_id, const std::string& email);
  // A TOTP second factor of the old system (JSON: secret, digits, period, algorithm).
  void save_second_factor(store::WriteUnit&, const std::string& user_id, const std::string& kind,
                          const std::string& details_json);

  // The end of the migration: once closed, the import API refuses every call, for good.
  void close(store::WriteUnit&, std::int64_t ts);
  bool closed();

  void add_room(store::WriteUnit&, const ImportedRoom& room);
  std::optional<ImportedRoom> room_by_import_id(const std::string& import_id);
  std::optional<ImportedRoom> room_by_room_id(const std::string& room_id);

 private:
  store::Database& db_;
};

}  // namespace lotse::core
