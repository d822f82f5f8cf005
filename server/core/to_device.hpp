// Send-to-device messages (client-server API "Send-to-Device messaging"): queued per target device,
// delivered by /sync in order, deleted once a later sync acknowledges them.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "server/core/notifier.hpp"
#include "server/store/database.hpp"

namespace lotse::core {

class ToDevice {
 public:
  ToDevice(store::Database& db, Notifier& notifier) : db_(db), notifier_(notifier) {}

  // True if the sending device already used this transaction id (the retry stores nothing).
  bool seen_transaction(const std::string& user_id, const std::string& device_id, const std::string& txn_id);
  void record_transaction(store::WriteUnit& unit, const std::string& user_id, const std::string& device_id,
                          const std::string& txn_id);
  void queue(store::WriteUnit& unit, const std::string& target_user, const std::string& target_device,
             const std::string& event_json);

  struct Message {
    std::int64_t stream;
    std::string json;
  };
  // Messages for the device after position `after`, oldest first, at most `limit`.
  std::vector<Message> pending(const std::string& user_id, const std::string& device_id, std::int64_t after,
                               std::size_t limit);
  // Deletes messages up to and including `upto` (the client has seen them).
  void acknowledge(store::WriteUnit& unit, const std::string& user_id, const std::string& device_id, std::int64_t upto);
  bool has_pending(const std::string& user_id, const std::string& device_id, std::int64_t after);

 private:
  store::Database& db_;
  Notifier& notifier_;
};

}  // namespace lotse::core
