// Read receipts (m.read, m.read.private) on the global stream.
#pragma once
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "server/core/rooms.hpp"

namespace lotse::core {

class Receipts {
 public:
  Receipts(store::Database& db, Rooms& rooms, Notifier& notifier) : db_(db), rooms_(rooms), notifier_(notifier) {}

  void set(store::WriteUnit& unit, const std::string& room_id, const std::string& user_id, const std::string& type,
           const std::string& event_id, const std::string& thread_id);
  // The m.receipt EDU content for receipts in the room changed after `since`, as seen by `viewer`
  // (private receipts only for their owner); nullopt when there are none.
  std::optional<boost::json::object> receipt_edu(const std::string& room_id, std::int64_t since,
                                                 const std::string& viewer);
  // Stream position of the user's latest read receipt event in the room, if any.
  std::optional<std::int64_t> read_up_to(const std::string& room_id, const std::string& user_id);

 private:
  store::Database& db_;
  Rooms& rooms_;
  Notifier& notifier_;
};

}  // namespace lotse::core
