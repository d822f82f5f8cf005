// Receipt storage and the m.receipt ephemeral event.
#include "server/core/receipts.hpp"

#include <chrono>

namespace lotse::core {

void Receipts::set(store::WriteUnit& unit, const std::string& room_id, const std::string& user_id,
                   const std::string& type, const std::string& event_id, const std::string& thread_id) {
  auto ts = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count();
  // Receipts only move forward: one for an event before the current one (a stale device, a late
  // request) is ignored, so it cannot bring back notification counts that were read already.
  auto st = db_.conn().prepare(
      "INSERT INTO receipts (room_id, user_id, receipt_type, thread_id, event_id, ts, stream_id) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (room_id, user_id, receipt_type, thread_id) "
      "DO UPDATE SET event_id = ?5, ts = ?6, stream_id = ?7 "
      "WHERE (SELECT stream_ordering FROM events WHERE event_id = ?5) >= "
      "COALESCE((SELECT stream_ordering FROM events WHERE event_id = receipts.event_id), -1)");
  st.bind_all(room_id, user_id, type, thread_id, event_id, ts, db_.next_stream_id());
  st.run();
  std::vector<std::string> users = type == "m.read.private" ? std::vector<std::string>{user_id}
                                                             : rooms_.joined_members(room_id);
  unit.after_commit([this, users = std::move(users)] {
    for (const auto& u : users) notifier_.notify_user(u);
  });
}

std::optional<boost::json::object> Receipts::receipt_edu(const std::string& room_id, std::int64_t since,
                                                          const std::string& viewer) {
  auto st = db_.conn().prepare(
      "SELECT user_id, receipt_type, thread_id, event_id, ts FROM receipts WHERE room_id = ? AND stream_id > ? "
      "ORDER BY stream_id");
  st.bind_all(room_id, since);
  boost::json::object content;
  bool any = false;
  while (st.step()) {
    std::string user = st.text(0), type = st.text(1), thread = st.text(2), event_id = st.text(3);
    if (type == "m.read.private" && user != viewer) continue;
    boost::json::object receipt{{"ts", st.int64(4)}};
    if (!thread.empty()) receipt["thread_id"] = thread;
    auto& by_event = content[event_id];
    if (!by_event.is_object()) by_event = boost::json::object{};
    auto& by_type = by_event.as_object()[type];
    if (!by_type.is_object()) by_type = boost::json::object{};
    by_type.as_object()[user] = std::move(receipt);
    any = true;
  }
  if (!any) return std::nullopt;
  return boost::json::object{{"type", "m.receipt"}, {"content", std::move(content)}};
}

std::optional<std::int64_t> Receipts::read_up_to(const std::string& room_id, const std::string& user_id) {
  auto st = db_.conn().prepare(
      "SELECT max(e.stream_ordering) FROM receipts r JOIN events e ON e.event_id = r.event_id "
      "WHERE r.room_id = ? AND r.user_id = ? AND r.receipt_type IN ('m.read', 'm.read.private')");
  st.bind_all(room_id, user_id);
  if (st.step() && !st.is_null(0)) return st.int64(0);
  return std::nullopt;
}

}  // namespace lotse::core
