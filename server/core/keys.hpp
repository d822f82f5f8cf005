// Storage and rules for end-to-end encryption keys: device keys, one-time and fallback keys,
// cross-signing keys and signatures, device-list changes. Public keys only; the server never holds
// a private key or plaintext.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "server/core/notifier.hpp"
#include "server/store/database.hpp"

namespace lotse::core {

class Keys {
 public:
  Keys(store::Database& db, Notifier& notifier) : db_(db), notifier_(notifier) {}

  std::optional<std::string> device_keys(const std::string& user_id, const std::string& device_id);
  // (device_id, json) of every device of the user that uploaded keys.
  std::vector<std::pair<std::string, std::string>> all_device_keys(const std::string& user_id);
  void set_device_keys(store::WriteUnit& unit, const std::string& user_id, const std::string& device_id,
                       const std::string& json);

  // Stores a one-time key; re-uploading the same key is a no-op, a different key under the same id
  // is refused (CoreError M_INVALID_PARAM).
  void add_one_time_key(store::WriteUnit& unit, const std::string& user_id, const std::string& device_id,
                        const std::string& algorithm, const std::string& key_id, const std::string& json);
  void set_fallback_key(store::WriteUnit& unit, const std::string& user_id, const std::string& device_id,
                        const std::string& algorithm, const std::string& key_id, const std::string& json);
  std::map<std::string, std::int64_t> one_time_key_counts(const std::string& user_id, const std::string& device_id);
  std::vector<std::string> unused_fallback_key_types(const std::string& user_id, const std::string& device_id);
  // Hands out one one-time key (deleted) or else the fallback key (marked used): (key id, json).
  std::optional<std::pair<std::string, std::string>> claim(store::WriteUnit& unit, const std::string& user_id,
                                                           const std::string& device_id, const std::string& algorithm);

  // Cross-signing keys by usage: "master", "self_signing", "user_signing".
  std::optional<std::string> cross_signing_key(const std::string& user_id, const std::string& usage);
  void set_cross_signing_key(store::WriteUnit& unit, const std::string& user_id, const std::string& usage,
                             const std::string& json);
  void add_signature(store::WriteUnit& unit, const std::string& target_user, const std::string& target_key,
                     const std::string& signer_user, const std::string& signer_key, const std::string& signature);
  struct Signature {
    std::string signer_user, signer_key, signature;
  };
  std::vector<Signature> signatures_for(const std::string& target_user, const std::string& target_key);

  // Records that the user's devices or keys changed and wakes everyone who shares a room with them.
  void mark_device_list_changed(store::WriteUnit& unit, const std::string& user_id);
  // Users with recorded changes after `since` among `candidates`.
  std::set<std::string> changed_since(std::int64_t since, const std::set<std::string>& candidates);
  // Users who share a room (joined or invited) with the user, including the user.
  std::set<std::string> users_sharing_rooms(const std::string& user_id);

  // Drops everything of a device (its keys and pending to-device messages).
  void delete_device(store::WriteUnit& unit, const std::string& user_id, const std::string& device_id);

 private:
  store::Database& db_;
  Notifier& notifier_;
};

}  // namespace lotse::core
