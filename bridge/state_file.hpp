// The bridge's state file (SQLite): what every old id became, the bridge's device, the Megolm
// session keys of the imported history and which device already received which key. Secrets in it
// (the device's access token and Olm account, the session keys) are sealed with a key kept in a
// separate file (<state>.key, mode 0600, or --key-file): a copied state file alone opens nothing.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace lotse::bridge {

class StateFile {
 public:
  // Opens (creating when absent) the state and its key file.
  StateFile(const std::filesystem::path& path, std::filesystem::path key_file = {});
  ~StateFile();
  StateFile(const StateFile&) = delete;

  // One transaction around a batch of writes: an interrupted run loses at most the open batch,
  // which the next run redoes (every server call it made is idempotent).
  void begin();
  void commit();

  std::optional<std::string> mapped(const std::string& kind, const std::string& old_id);
  void map(const std::string& kind, const std::string& old_id, const std::string& new_id);
  std::int64_t count(const std::string& kind);

  std::optional<std::string> meta(const std::string& key);
  void set_meta(const std::string& key, const std::string& value);
  // Sealed values (secretbox under the key file's key).
  std::optional<std::string> secret(const std::string& key);
  void set_secret(const std::string& key, const std::string& value);

  struct MegolmKey {
    std::string session_id, room_id, session_key;
  };
  void add_megolm_key(const MegolmKey& k);
  std::vector<MegolmKey> megolm_keys();

  // Lotse users allowed to receive a room's keys: the room's members in the old system.
  void add_room_member(const std::string& room_id, const std::string& user_id);
  std::vector<std::string> rooms_of_member(const std::string& user_id);
  std::vector<std::string> members();

  bool delivered(const std::string& user_id, const std::string& device_id, const std::string& session_id);
  void mark_delivered(const std::string& user_id, const std::string& device_id, const std::string& session_id);
  std::int64_t delivered_count();

  // The pickle key for the bridge's Olm account (derived from the sealing key, never stored).
  std::string pickle_key() const;

 private:
  void exec(const char* sql);
  sqlite3* db_ = nullptr;
  std::string key_;  // 32 bytes
};

}  // namespace lotse::bridge
