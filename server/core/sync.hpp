// Computes /sync responses from stream positions (client-server API "Syncing").
#pragma once
#include <boost/json.hpp>

#include <optional>
#include <set>

#include "server/core/account_data.hpp"
#include "server/core/client_events.hpp"
#include "server/core/filters.hpp"
#include "server/core/keys.hpp"
#include "server/core/notifications.hpp"
#include "server/core/to_device.hpp"
#include "server/core/receipts.hpp"
#include "server/core/sync_token.hpp"
#include "server/core/presence.hpp"
#include "server/core/typing.hpp"

namespace lotse::core {

struct SyncRequest {
  Viewer viewer;
  std::optional<SyncToken> since;
  SyncFilter filter;
  std::set<std::string> ignored;  // m.ignored_user_list of the viewer (ignored_users.hpp)
  bool full_state = false;
};

struct SyncResult {
  boost::json::object body;
  bool empty = true;  // nothing new for this user since `since`
};

class Sync {
 public:
  Sync(store::Database& db, Rooms& rooms, AccountData& account_data, Receipts& receipts, Typing& typing,
       Presence& presence, Keys& keys, ToDevice& to_device, Notifications& notifications)
      : db_(db), rooms_(rooms), account_data_(account_data), receipts_(receipts), typing_(typing), presence_(presence),
        keys_(keys), to_device_(to_device), notifications_(notifications) {}

  SyncResult compute(const SyncRequest& request);
  // Users whose devices changed, or who came to share a room with the user, since `since` (changed),
  // and users who no longer share any room (left); for device_lists and /keys/changes.
  std::pair<std::set<std::string>, std::set<std::string>> device_list_delta(const std::string& user_id,
                                                                            std::int64_t since);

 private:
  struct RoomSection {
    boost::json::object body;
    bool has_content = false;
  };
  RoomSection room_section(const SyncRequest& req, const std::string& room_id, std::int64_t from,
                           std::int64_t upto, bool full, bool joined);
  boost::json::object room_summary(const std::string& room_id, const std::string& user_id);
  bool joined_throughout(const std::string& room_id, const std::string& user_id, std::int64_t since);
  boost::json::object invite_state(const std::string& room_id, const std::string& user_id);

  store::Database& db_;
  Rooms& rooms_;
  AccountData& account_data_;
  Receipts& receipts_;
  Typing& typing_;
  Presence& presence_;
  Keys& keys_;
  ToDevice& to_device_;
  Notifications& notifications_;
};

}  // namespace lotse::core
