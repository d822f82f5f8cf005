// Presence (client-server API "Presence"): online, unavailable or offline, an optional status
// message and the time of the last activity. In memory only, with its own serial in the sync token,
// like typing: after a restart everyone is offline until they sync or set it again.
//
// Who sees it: presence is shared between users who are no seekers (counselors and administrators,
// or ordinary users on a conformance instance) and share a joined room. A seeker has none: what she
// sets is ignored, her /sync marks her nothing, and nobody sees whether she is online (on a shared
// phone that alone could tell); she sees nobody's either. Service and import accounts have none.
#pragma once
#include <boost/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "server/core/accounts.hpp"
#include "server/core/filters.hpp"
#include "server/core/notifier.hpp"
#include "server/core/rooms.hpp"

namespace lotse::core {

class Presence {
 public:
  Presence(Rooms& rooms, Accounts& accounts, Notifier& notifier);

  // PUT /presence/{userId}/status. CoreError M_INVALID_PARAM for a state other than the three or a
  // status message over 512 bytes.
  void set(const std::string& user_id, const std::string& presence, const std::optional<std::string>& status_msg);
  // A /sync with `set_presence` (default "online"; "offline" leaves the state as it is, and "online"
  // keeps an "unavailable" she set): the user was active now. CoreError M_INVALID_PARAM for another value.
  void synced(const std::string& user_id, const std::string& set_presence);
  std::uint64_t serial() const { return serial_; }
  // Whether `viewer` may see the presence of `user` (see above).
  bool visible(const std::string& viewer, const std::string& user);
  // The m.presence content: presence, last_active_ago, currently_active, status_msg. Online without
  // activity for 5 minutes reads as unavailable.
  boost::json::object content(const std::string& user_id) const;
  // m.presence events for /sync: users visible to `viewer` whose presence changed after
  // `since_serial`, or every known one on an initial sync.
  boost::json::array events_for(const std::string& viewer, std::optional<std::uint64_t> since_serial,
                                const EventFilter& filter);
  // Beside those, on an incremental sync: the presence of `users` as it is now (those visible with a
  // known one), for users she newly shares a room with; none twice.
  void add_current(boost::json::array& events, const std::string& viewer, const std::set<std::string>& users,
                   const EventFilter& filter);

 private:
  struct Entry {
    std::string presence = "offline";
    std::optional<std::string> status_msg;
    std::int64_t last_active_ms = 0;
    std::uint64_t changed_at = 0;
  };
  bool has_presence(const std::string& user_id);
  void changed(const std::string& user_id, Entry& e);
  static std::int64_t now_ms();
  // Serials start at the wall-clock milliseconds so tokens from before a restart stay older.
  static std::uint64_t start_serial() { return static_cast<std::uint64_t>(now_ms()); }

  Rooms& rooms_;
  Accounts& accounts_;
  Notifier& notifier_;
  std::uint64_t serial_;
  std::unordered_map<std::string, Entry> entries_;
  std::map<std::uint64_t, std::string> by_change_;  // changed_at -> user, for incremental syncs
};

}  // namespace lotse::core
