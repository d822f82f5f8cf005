// E-mail digests; see email_digests.hpp.
#include "server/core/email_digests.hpp"

#include <algorithm>

namespace lotse::core {

std::vector<DueDigest> EmailDigests::due(std::int64_t now_ms, std::int64_t delay_ms, std::int64_t interval_ms) {
  auto st = db_.conn().prepare(
      "SELECT u.user_id, u.email, count(*), count(DISTINCT a.room_id), max(a.stream_ordering) "
      "FROM users u JOIN event_push_actions a ON a.user_id = u.user_id "
      "JOIN events e ON e.stream_ordering = a.stream_ordering "
      "LEFT JOIN email_digests d ON d.user_id = u.user_id "
      "WHERE u.email IS NOT NULL AND u.deactivated = 0 AND coalesce(d.unsubscribed, 0) = 0 "
      "AND coalesce(d.last_sent_ts, 0) <= ?1 - ?3 AND a.ts <= ?1 - ?2 "
      "AND a.stream_ordering > coalesce(d.last_stream, 0) AND e.redacted_by IS NULL "
      "AND a.room_id IN (SELECT room_id FROM memberships m WHERE m.user_id = u.user_id AND m.membership = 'join') "
      "AND a.stream_ordering > coalesce((SELECT max(e2.stream_ordering) FROM receipts r "
      "  JOIN events e2 ON e2.event_id = r.event_id WHERE r.room_id = a.room_id AND r.user_id = u.user_id "
      "  AND r.thread_id = '' AND r.receipt_type IN ('m.read', 'm.read.private')), 0) "
      "GROUP BY u.user_id LIMIT 1000");
  st.bind_all(now_ms, delay_ms, interval_ms);
  std::vector<DueDigest> out;
  while (st.step()) out.push_back({st.text(0), st.text(1), st.int64(2), st.int64(3), st.int64(4)});
  return out;
}

void EmailDigests::mark_sent(store::WriteUnit&, const std::string& user_id, std::int64_t now_ms,
                             std::int64_t up_to_stream) {
  auto st = db_.conn().prepare(
      "INSERT INTO email_digests (user_id, last_sent_ts, last_stream) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (user_id) DO UPDATE SET last_sent_ts = ?2, last_stream = max(last_stream, ?3)");
  st.bind_all(user_id, now_ms, up_to_stream);
  st.run();
}

void EmailDigests::unsubscribe(store::WriteUnit&, const std::string& user_id) {
  auto st = db_.conn().prepare(
      "INSERT INTO email_digests (user_id, unsubscribed) VALUES (?1, 1) ON CONFLICT (user_id) DO UPDATE SET unsubscribed = 1");
  st.bind_all(user_id);
  st.run();
}

bool EmailDigests::unsubscribed(const std::string& user_id) {
  auto st = db_.conn().prepare("SELECT unsubscribed FROM email_digests WHERE user_id = ?");
  st.bind_all(user_id);
  return st.step() && st.int64(0) != 0;
}

void EmailDigests::set_email(store::WriteUnit&, const std::string& user_id, const std::optional<std::string>& email) {
  auto st = db_.conn().prepare("UPDATE users SET email = ? WHERE user_id = ?");
  st.bind_all(email, user_id);
  st.run();
}

bool valid_email_address(const std::string& a) {
  if (a.size() < 3 || a.size() > 254 || std::count(a.begin(), a.end(), '@') != 1) return false;
  auto at = a.find('@');
  if (at == 0 || at + 1 == a.size()) return false;
  for (unsigned char c : a)
    if (c <= 0x20 || c >= 0x7F || c == '<' || c == '>' || c == '"' || c == '(' || c == ')' || c == ',' || c == ';' ||
        c == ':' || c == '\\' || c == '[' || c == ']')
      return false;
  return true;
}

}  // namespace lotse::core
