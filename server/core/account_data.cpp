// Account data storage on the global stream.
#include "server/core/account_data.hpp"

namespace lotse::core {

void AccountData::set(store::WriteUnit& unit, const std::string& user_id, const std::string& room_id,
                      const std::string& type, const std::string& content_json) {
  auto st = db_.conn().prepare(
      "INSERT INTO account_data (user_id, room_id, type, content, stream_id) VALUES (?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT (user_id, room_id, type) DO UPDATE SET content = ?4, stream_id = ?5");
  st.bind_all(user_id, room_id, type, content_json, db_.next_stream_id());
  st.run();
  unit.after_commit([this, user_id] { notifier_.notify_user(user_id); });
  if (type == "m.push_rules" && room_id.empty() && push_rules_observer_) {
    push_rules_observer_(user_id);
    unit.on_rollback([this, user_id] { push_rules_observer_(user_id); });
  }
}

std::optional<std::string> AccountData::get(const std::string& user_id, const std::string& room_id,
                                            const std::string& type) {
  auto st = db_.conn().prepare("SELECT content FROM account_data WHERE user_id = ? AND room_id = ? AND type = ?");
  st.bind_all(user_id, room_id, type);
  if (!st.step()) return std::nullopt;
  return st.text(0);
}

std::vector<AccountData::Entry> AccountData::changed_since(const std::string& user_id, std::int64_t since) {
  std::vector<Entry> out;
  auto st = db_.conn().prepare(
      "SELECT room_id, type, content FROM account_data WHERE user_id = ? AND stream_id > ? ORDER BY stream_id");
  st.bind_all(user_id, since);
  while (st.step()) out.push_back(Entry{st.text(0), st.text(1), st.text(2)});
  return out;
}

}  // namespace lotse::core
