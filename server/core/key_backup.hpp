// Server-side key backup (client-server API "Server-side key backups"): versions with auth_data and
// encrypted session keys the server cannot read.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "server/store/database.hpp"

namespace lotse::core {

struct BackupVersion {
  std::int64_t version;
  std::string algorithm;
  std::string auth_data;  // JSON text as uploaded
  std::int64_t etag;
};

struct BackedUpKey {
  std::string room_id;
  std::string session_id;
  std::int64_t first_message_index;
  std::int64_t forwarded_count;
  bool is_verified;
  std::string session_data;  // JSON text
};

class KeyBackup {
 public:
  explicit KeyBackup(store::Database& db) : db_(db) {}

  std::int64_t create_version(store::WriteUnit& unit, const std::string& user_id, const std::string& algorithm,
                              const std::string& auth_data);
  std::optional<BackupVersion> latest(const std::string& user_id);
  std::optional<BackupVersion> version(const std::string& user_id, std::int64_t version);
  void update_version(store::WriteUnit& unit, const std::string& user_id, std::int64_t version,
                      const std::string& auth_data);
  void delete_version(store::WriteUnit& unit, const std::string& user_id, std::int64_t version);

  // Stores the key unless the existing copy is better (verified beats unverified, then the lower
  // first_message_index, then the lower forwarded_count). Returns whether it was stored.
  bool put_key(store::WriteUnit& unit, const std::string& user_id, std::int64_t version, const BackedUpKey& key);
  std::vector<BackedUpKey> keys(const std::string& user_id, std::int64_t version,
                                const std::optional<std::string>& room_id, const std::optional<std::string>& session_id);
  void delete_keys(store::WriteUnit& unit, const std::string& user_id, std::int64_t version,
                   const std::optional<std::string>& room_id, const std::optional<std::string>& session_id);
  std::int64_t count(const std::string& user_id, std::int64_t version);
  // Every change of the stored keys gives the version a new etag.
  void bump_etag(store::WriteUnit& unit, const std::string& user_id, std::int64_t version);

 private:
  store::Database& db_;
};

}  // namespace lotse::core
