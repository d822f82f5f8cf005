// Serving events to clients: the client event format with `unsigned`, and history visibility.
#pragma once
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "server/core/rooms.hpp"

namespace lotse::core {

struct Viewer {
  std::string user_id;
  std::string device_id;
};

// The client-server format of a stored event: no hashes, signatures, auth/prev events or depth;
// `unsigned` carries age, transaction_id (sender's own device), prev_content, redacted_because and,
// for thread roots, the bundled m.thread aggregation.
boost::json::object client_event(Rooms& rooms, const StoredEvent& event, const std::optional<Viewer>& viewer,
                                 bool with_room_id = true, bool bundle_threads = true);
// {type, state_key, content, sender} for invite_state.
boost::json::object stripped_state_event(const StoredEvent& event);

// History visibility (client-server API "Room History Visibility") for one user in one room.
class VisibilityFilter {
 public:
  VisibilityFilter(Rooms& rooms, const std::string& room_id, const std::string& user_id);
  bool can_see(const StoredEvent& event) const;

 private:
  std::string user_id_;
  std::vector<std::pair<std::int64_t, std::string>> history_;
  bool currently_joined_ = false;
};

}  // namespace lotse::core
