// Notifications: every event appended to a room is evaluated against each recipient's push rules in
// the write unit that stores it. What notifies is recorded (event_push_actions), which gives the
// unread counts of /sync and GET /notifications (a read receipt at or past an event makes it read),
// and after commit it is handed to the push delivery, which never runs on the send path.
#pragma once
#include <boost/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/core/account_data.hpp"
#include "server/core/rooms.hpp"
#include "server/store/database.hpp"

namespace lotse::core {

// One notifying event for one user, handed to the delivery after commit.
struct PushJob {
  std::string user_id;
  std::string room_id;
  std::string event_id;
  std::int64_t stream = 0;
  bool highlight = false;
  boost::json::object tweaks;  // from the rule's set_tweak actions (sound, highlight)
};

class Notifications {
 public:
  // `unnotified`: accounts that never get notifications (the service user, the bridge), so their
  // rows do not pile up for every message of the instance.
  Notifications(store::Database& db, Rooms& rooms, AccountData& account_data, std::set<std::string> unnotified);
  ~Notifications();
  Notifications(const Notifications&) = delete;
  Notifications& operator=(const Notifications&) = delete;

  // Called by Rooms for every appended event (federation format), inside its write unit.
  void on_event(store::WriteUnit& unit, const RoomInfo& room, const StoredEvent& stored,
                const boost::json::object& event);
  // The user's push rules changed: drop the parsed copy.
  void rules_changed(const std::string& user_id) { rules_cache_.erase(user_id); }
  // The user's m.ignored_user_list changed: drop the parsed copy.
  void ignored_changed(const std::string& user_id) { ignored_cache_.erase(user_id); }
  // Where notifying events go after commit (the push delivery); none: they are only counted.
  void set_sink(std::function<void(std::vector<PushJob>)> sink) { sink_ = std::move(sink); }

  struct Counts {
    std::int64_t notifications = 0;
    std::int64_t highlights = 0;
  };
  // Unread counts in a room after the user's read receipt, all threads together or per thread
  // ("main" for the main timeline).
  Counts unread(const std::string& room_id, const std::string& user_id);
  std::map<std::string, Counts> unread_by_thread(const std::string& room_id, const std::string& user_id);
  // Unread notifications over all of the user's joined rooms (the badge number of a push). Kept in
  // memory per user: TEMP triggers on the tables it is counted from (receipts, memberships, events,
  // event_push_actions) drop a user's number whenever a row of hers changes, whoever wrote it, and a
  // new notification adds one.
  std::int64_t unread_total(const std::string& user_id);
  // Drops decisions older than `older_than_ts` (ms): the counts of a room nobody read for that long
  // start again from zero, as Synapse's do after a month.
  void prune(store::WriteUnit&, std::int64_t older_than_ts);

  struct Item {
    std::int64_t stream = 0;
    std::string room_id;
    std::string event_id;
    bool highlight = false;
    std::string actions_json;
    std::int64_t ts = 0;
    bool read = false;
  };
  // Newest first, with stream < `before` (0: from the newest), at most `limit`.
  std::vector<Item> list(const std::string& user_id, std::int64_t before, std::size_t limit, bool only_highlight);

 private:
  // A user's rules ("global" of m.push_rules): her own, or default_rules_, the shared template.
  const std::shared_ptr<const boost::json::object>& rules_for(const std::string& user_id);
  const std::set<std::string>& ignored_by(const std::string& user_id);
  struct ReadPositions {
    std::int64_t unthreaded = 0;
    std::map<std::string, std::int64_t> threads;
  };
  ReadPositions read_positions(const std::string& room_id, const std::string& user_id);

  store::Database& db_;
  Rooms& rooms_;
  AccountData& account_data_;
  std::set<std::string> unnotified_;
  std::function<void(std::vector<PushJob>)> sink_;
  std::unordered_map<std::string, std::shared_ptr<const boost::json::object>> rules_cache_;  // user -> her rules
  std::shared_ptr<const boost::json::object> default_rules_;  // "global" of the template, parsed once
  std::unordered_map<std::string, std::set<std::string>> ignored_cache_;  // user -> m.ignored_user_list
  std::unordered_map<std::string, std::int64_t> unread_cache_;            // user -> unread_total
};

}  // namespace lotse::core
