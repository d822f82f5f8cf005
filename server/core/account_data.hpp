// Per-user account data, global and per room (m.direct, m.fully_read, m.tag, m.push_rules, ...).
#pragma once
#include <boost/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "server/core/notifier.hpp"
#include "server/store/database.hpp"

namespace lotse::core {

class AccountData {
 public:
  AccountData(store::Database& db, Notifier& notifier) : db_(db), notifier_(notifier) {}

  // room_id "" means global. `content` is stored as given and read back byte for byte.
  void set(store::WriteUnit& unit, const std::string& user_id, const std::string& room_id, const std::string& type,
           const std::string& content_json);
  std::optional<std::string> get(const std::string& user_id, const std::string& room_id, const std::string& type);
  struct Entry {
    std::string room_id;
    std::string type;
    std::string content_json;
  };
  // Entries changed after stream position `since` (all when since is 0).
  std::vector<Entry> changed_since(const std::string& user_id, std::int64_t since);
  // Called when a user's m.push_rules change, and again if that write rolls back.
  void set_push_rules_observer(std::function<void(const std::string& user_id)> fn) { push_rules_observer_ = std::move(fn); }

 private:
  store::Database& db_;
  Notifier& notifier_;
  std::function<void(const std::string& user_id)> push_rules_observer_;
};

}  // namespace lotse::core
