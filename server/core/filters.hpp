// Sync and room event filters (client-server API "Filtering"): parsing and matching.
#pragma once
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "server/core/rooms.hpp"
#include "server/store/database.hpp"

namespace lotse::core {

struct EventFilter {
  std::optional<std::vector<std::string>> types;
  std::vector<std::string> not_types;
  std::optional<std::vector<std::string>> senders;
  std::vector<std::string> not_senders;
  std::optional<std::size_t> limit;
  bool lazy_load_members = false;
  bool include_redundant_members = false;
  bool unread_thread_notifications = false;  // counts per thread in /sync

  bool matches(const std::string& type, const std::string& sender) const;
};

struct SyncFilter {
  std::optional<std::vector<std::string>> rooms;
  std::vector<std::string> not_rooms;
  bool include_leave = false;
  EventFilter timeline;
  EventFilter state;
  EventFilter ephemeral;
  EventFilter room_account_data;
  EventFilter account_data;
  EventFilter presence;

  bool includes_room(const std::string& room_id) const;
};

// Parse a filter definition; throws CoreError (M_BAD_JSON / M_INVALID_PARAM) when malformed.
EventFilter parse_event_filter(const boost::json::object& o);
SyncFilter parse_sync_filter(const boost::json::object& o);

// Stored filters are returned exactly as uploaded.
class Filters {
 public:
  explicit Filters(store::Database& db) : db_(db) {}
  std::string store(store::WriteUnit&, const std::string& user_id, const std::string& json_text);
  std::optional<std::string> load(const std::string& user_id, const std::string& filter_id);

 private:
  store::Database& db_;
};

}  // namespace lotse::core
