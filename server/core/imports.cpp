// Import bookkeeping in the users.imported column and the imported_rooms table (schema 0006).
#include "server/core/imports.hpp"

namespace lotse::core {

void Imports::mark_user(store::WriteUnit&, const std::string& user_id, std::int64_t created_ts, bool deactivated) {
  auto st = db_.conn().prepare("UPDATE users SET imported = 1, created_ts = ?, deactivated = ? WHERE user_id = ?");
  st.bind_all(created_ts, static_cast<std::int64_t>(deactivated ? 1 : 0), user_id);
  st.run();
}

void Imports::set_email(store::WriteUnit&, const std::string& user_id, const std::string& email) {
  auto st = db_.conn().prepare("UPDATE users SET email = ? WHERE user_id = ?");
  st.bind_all(email, user_id);
  st.run();
}

void Imports::save_second_factor(store::WriteUnit&, const std::string& user_id, const std::string& kind,
                                 const std::string& details_json) {
  auto st = db_.conn().prepare(
      "INSERT INTO imported_second_factors (user_id, kind, details) VALUES (?, ?, ?) "
      "ON CONFLICT (user_id) DO UPDATE SET kind = excluded.kind, details = excluded.details");
  st.bind_all(user_id, kind, details_json);
  st.run();
}

void Imports::close(store::WriteUnit&, std::int64_t ts) {
  auto st = db_.conn().prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('import_closed', ?)");
  st.bind_all(std::to_string(ts));
  st.run();
}

bool Imports::closed() {
  auto st = db_.conn().prepare("SELECT 1 FROM meta WHERE key = 'import_closed'");
  return st.step();
}

void Imports::add_room(store::WriteUnit&, const ImportedRoom& room) {
  auto st = db_.conn().prepare("INSERT INTO imported_rooms (import_id, room_id, kind) VALUES (?, ?, ?)");
  st.bind_all(room.import_id, room.room_id, room.kind);
  st.run();
}

std::optional<ImportedRoom> Imports::room_by_import_id(const std::string& import_id) {
  auto st = db_.conn().prepare("SELECT import_id, room_id, kind FROM imported_rooms WHERE import_id = ?");
  st.bind_all(import_id);
  if (!st.step()) return std::nullopt;
  return ImportedRoom{st.text(0), st.text(1), st.text(2)};
}

std::optional<ImportedRoom> Imports::room_by_room_id(const std::string& room_id) {
  auto st = db_.conn().prepare("SELECT import_id, room_id, kind FROM imported_rooms WHERE room_id = ?");
  st.bind_all(room_id);
  if (!st.step()) return std::nullopt;
  return ImportedRoom{st.text(0), st.text(1), st.text(2)};
}

}  // namespace lotse::core
