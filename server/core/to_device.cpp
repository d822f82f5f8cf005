// To-device queue.
#include "server/core/to_device.hpp"

namespace lotse::core {

bool ToDevice::seen_transaction(const std::string& user_id, const std::string& device_id, const std::string& txn_id) {
  auto st = db_.conn().prepare("SELECT 1 FROM to_device_transactions WHERE user_id = ? AND device_id = ? AND txn_id = ?");
  st.bind_all(user_id, device_id, txn_id);
  return st.step();
}

void ToDevice::record_transaction(store::WriteUnit&, const std::string& user_id, const std::string& device_id,
                                  const std::string& txn_id) {
  auto st = db_.conn().prepare("INSERT INTO to_device_transactions (user_id, device_id, txn_id) VALUES (?, ?, ?)");
  st.bind_all(user_id, device_id, txn_id);
  st.run();
}

void ToDevice::queue(store::WriteUnit& unit, const std::string& target_user, const std::string& target_device,
                     const std::string& event_json) {
  auto st = db_.conn().prepare(
      "INSERT INTO to_device_messages (stream_id, target_user, target_device, json) VALUES (?, ?, ?, ?)");
  st.bind_all(db_.next_stream_id(), target_user, target_device, event_json);
  st.run();
  unit.after_commit([this, target_user] { notifier_.notify_user(target_user); });
}

std::vector<ToDevice::Message> ToDevice::pending(const std::string& user_id, const std::string& device_id,
                                                 std::int64_t after, std::size_t limit) {
  std::vector<Message> out;
  auto st = db_.conn().prepare(
      "SELECT stream_id, json FROM to_device_messages WHERE target_user = ? AND target_device = ? AND stream_id > ? "
      "ORDER BY stream_id LIMIT ?");
  st.bind_all(user_id, device_id, after, static_cast<std::int64_t>(limit));
  while (st.step()) out.push_back(Message{st.int64(0), st.text(1)});
  return out;
}

bool ToDevice::has_pending(const std::string& user_id, const std::string& device_id, std::int64_t after) {
  return !pending(user_id, device_id, after, 1).empty();
}

void ToDevice::acknowledge(store::WriteUnit&, const std::string& user_id, const std::string& device_id,
                           std::int64_t upto) {
  auto st = db_.conn().prepare(
      "DELETE FROM to_device_messages WHERE target_user = ? AND target_device = ? AND stream_id <= ?");
  st.bind_all(user_id, device_id, upto);
  st.run();
}

}  // namespace lotse::core
