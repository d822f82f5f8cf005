// Key backup storage.
#include "server/core/key_backup.hpp"

namespace lotse::core {
namespace {
BackupVersion read_version(const store::Statement& st) {
  return BackupVersion{st.int64(0), st.text(1), st.text(2), st.int64(3)};
}
}  // namespace

std::int64_t KeyBackup::create_version(store::WriteUnit&, const std::string& user_id, const std::string& algorithm,
                                       const std::string& auth_data) {
  std::int64_t next = 1;
  {
    auto st = db_.conn().prepare("SELECT coalesce(max(version), 0) + 1 FROM room_key_backup_versions WHERE user_id = ?");
    st.bind_all(user_id);
    if (st.step()) next = st.int64(0);
  }
  auto st = db_.conn().prepare(
      "INSERT INTO room_key_backup_versions (user_id, version, algorithm, auth_data) VALUES (?, ?, ?, ?)");
  st.bind_all(user_id, next, algorithm, auth_data);
  st.run();
  return next;
}

std::optional<BackupVersion> KeyBackup::latest(const std::string& user_id) {
  auto st = db_.conn().prepare(
      "SELECT version, algorithm, auth_data, etag FROM room_key_backup_versions WHERE user_id = ? AND deleted = 0 "
      "ORDER BY version DESC LIMIT 1");
  st.bind_all(user_id);
  if (!st.step()) return std::nullopt;
  return read_version(st);
}

std::optional<BackupVersion> KeyBackup::version(const std::string& user_id, std::int64_t version) {
  auto st = db_.conn().prepare(
      "SELECT version, algorithm, auth_data, etag FROM room_key_backup_versions WHERE user_id = ? AND version = ? "
      "AND deleted = 0");
  st.bind_all(user_id, version);
  if (!st.step()) return std::nullopt;
  return read_version(st);
}

void KeyBackup::update_version(store::WriteUnit&, const std::string& user_id, std::int64_t version,
                               const std::string& auth_data) {
  auto st = db_.conn().prepare("UPDATE room_key_backup_versions SET auth_data = ? WHERE user_id = ? AND version = ?");
  st.bind_all(auth_data, user_id, version);
  st.run();
}

void KeyBackup::delete_version(store::WriteUnit& unit, const std::string& user_id, std::int64_t version) {
  delete_keys(unit, user_id, version, std::nullopt, std::nullopt);
  auto st = db_.conn().prepare("UPDATE room_key_backup_versions SET deleted = 1 WHERE user_id = ? AND version = ?");
  st.bind_all(user_id, version);
  st.run();
}

bool KeyBackup::put_key(store::WriteUnit&, const std::string& user_id, std::int64_t version, const BackedUpKey& key) {
  auto existing = keys(user_id, version, key.room_id, key.session_id);
  if (!existing.empty()) {
    const auto& old = existing.front();
    bool better;
    if (key.is_verified != old.is_verified) better = key.is_verified;
    else if (key.first_message_index != old.first_message_index) better = key.first_message_index < old.first_message_index;
    else better = key.forwarded_count < old.forwarded_count;
    if (!better) return false;
  }
  auto st = db_.conn().prepare(
      "INSERT INTO room_key_backup_keys (user_id, version, room_id, session_id, first_message_index, forwarded_count, "
      "is_verified, session_data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
      "ON CONFLICT (user_id, version, room_id, session_id) DO UPDATE SET first_message_index = ?5, "
      "forwarded_count = ?6, is_verified = ?7, session_data = ?8");
  st.bind_all(user_id, version, key.room_id, key.session_id, key.first_message_index, key.forwarded_count,
              static_cast<std::int64_t>(key.is_verified), key.session_data);
  st.run();
  return true;
}

std::vector<BackedUpKey> KeyBackup::keys(const std::string& user_id, std::int64_t version,
                                         const std::optional<std::string>& room_id,
                                         const std::optional<std::string>& session_id) {
  std::vector<BackedUpKey> out;
  auto st = db_.conn().prepare(
      "SELECT room_id, session_id, first_message_index, forwarded_count, is_verified, session_data "
      "FROM room_key_backup_keys WHERE user_id = ?1 AND version = ?2 AND (?3 IS NULL OR room_id = ?3) "
      "AND (?4 IS NULL OR session_id = ?4) ORDER BY room_id, session_id");
  st.bind_all(user_id, version, room_id, session_id);
  while (st.step())
    out.push_back(BackedUpKey{st.text(0), st.text(1), st.int64(2), st.int64(3), st.int64(4) != 0, st.text(5)});
  return out;
}

void KeyBackup::delete_keys(store::WriteUnit&, const std::string& user_id, std::int64_t version,
                            const std::optional<std::string>& room_id, const std::optional<std::string>& session_id) {
  auto st = db_.conn().prepare(
      "DELETE FROM room_key_backup_keys WHERE user_id = ?1 AND version = ?2 AND (?3 IS NULL OR room_id = ?3) "
      "AND (?4 IS NULL OR session_id = ?4)");
  st.bind_all(user_id, version, room_id, session_id);
  st.run();
}

std::int64_t KeyBackup::count(const std::string& user_id, std::int64_t version) {
  auto st = db_.conn().prepare("SELECT count(*) FROM room_key_backup_keys WHERE user_id = ? AND version = ?");
  st.bind_all(user_id, version);
  return st.step() ? st.int64(0) : 0;
}

void KeyBackup::bump_etag(store::WriteUnit&, const std::string& user_id, std::int64_t version) {
  auto st = db_.conn().prepare("UPDATE room_key_backup_versions SET etag = etag + 1 WHERE user_id = ? AND version = ?");
  st.bind_all(user_id, version);
  st.run();
}

}  // namespace lotse::core
