// Typing notifications: in memory only, with their own serial in the sync token.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "server/core/notifier.hpp"
#include "server/core/rooms.hpp"

namespace lotse::core {

class Typing {
 public:
  Typing(boost::asio::any_io_executor executor, Rooms& rooms, Notifier& notifier)
      : executor_(std::move(executor)), rooms_(rooms), notifier_(notifier), serial_(start_serial()) {}

  void set(const std::string& room_id, const std::string& user_id, bool typing, std::chrono::milliseconds timeout);
  std::uint64_t serial() const { return serial_; }
  // The m.typing EDU when the room's typing set changed after `since_serial` (always on initial sync).
  std::optional<boost::json::object> typing_edu(const std::string& room_id, std::optional<std::uint64_t> since_serial);

 private:
  struct RoomTyping {
    std::uint64_t changed_at = 0;
    std::map<std::string, std::shared_ptr<boost::asio::steady_timer>> users;
  };
  void changed(const std::string& room_id, RoomTyping& rt);
  // Serials start at the wall-clock milliseconds so tokens from before a restart stay older.
  static std::uint64_t start_serial() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  }

  boost::asio::any_io_executor executor_;
  Rooms& rooms_;
  Notifier& notifier_;
  std::uint64_t serial_;
  std::unordered_map<std::string, RoomTyping> rooms_typing_;
};

}  // namespace lotse::core
