// Typing state with expiry timers.
#include "server/core/typing.hpp"

namespace lotse::core {

void Typing::changed(const std::string& room_id, RoomTyping& rt) {
  rt.changed_at = ++serial_;
  for (const auto& u : rooms_.joined_members(room_id)) notifier_.notify_user(u);
}

void Typing::set(const std::string& room_id, const std::string& user_id, bool typing,
                 std::chrono::milliseconds timeout) {
  auto& rt = rooms_typing_[room_id];
  auto it = rt.users.find(user_id);
  if (!typing) {
    if (it == rt.users.end()) return;
    it->second->cancel();
    rt.users.erase(it);
    changed(room_id, rt);
    return;
  }
  bool was_typing = it != rt.users.end();
  if (was_typing) it->second->cancel();
  auto timer = std::make_shared<boost::asio::steady_timer>(executor_, timeout);
  rt.users[user_id] = timer;
  timer->async_wait([this, room_id, user_id, timer](boost::system::error_code ec) {
    if (ec) return;  // cancelled: replaced or stopped explicitly
    auto& rt = rooms_typing_[room_id];
    auto it = rt.users.find(user_id);
    if (it != rt.users.end() && it->second == timer) {
      rt.users.erase(it);
      changed(room_id, rt);
    }
  });
  if (!was_typing) changed(room_id, rt);
}

std::optional<boost::json::object> Typing::typing_edu(const std::string& room_id,
                                                      std::optional<std::uint64_t> since_serial) {
  auto it = rooms_typing_.find(room_id);
  if (since_serial && (it == rooms_typing_.end() || it->second.changed_at <= *since_serial)) return std::nullopt;
  boost::json::array ids;
  if (it != rooms_typing_.end())
    for (const auto& [u, t] : it->second.users) ids.push_back(boost::json::value(u));
  if (!since_serial && ids.empty()) return std::nullopt;
  return boost::json::object{{"type", "m.typing"}, {"content", {{"user_ids", std::move(ids)}}}};
}

}  // namespace lotse::core
