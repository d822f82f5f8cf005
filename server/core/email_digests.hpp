// E-mail digests (issue #14): who is due a "you have N unread messages in M consultations" mail.
// Counted are notifying events (event_push_actions) still unread after a delay, not counted in an
// earlier digest, in rooms the user is joined to; at most one mail per interval; never any content.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/store/database.hpp"

namespace lotse::core {

struct DueDigest {
  std::string user_id;
  std::string email;
  std::int64_t unread = 0;
  std::int64_t rooms = 0;
  std::int64_t up_to_stream = 0;
};

class EmailDigests {
 public:
  explicit EmailDigests(store::Database& db) : db_(db) {}
  std::vector<DueDigest> due(std::int64_t now_ms, std::int64_t delay_ms, std::int64_t interval_ms);
  void mark_sent(store::WriteUnit&, const std::string& user_id, std::int64_t now_ms, std::int64_t up_to_stream);
  void unsubscribe(store::WriteUnit&, const std::string& user_id);
  bool unsubscribed(const std::string& user_id);
  void set_email(store::WriteUnit&, const std::string& user_id, const std::optional<std::string>& email);

 private:
  store::Database& db_;
};

// Whether an address may be used in a mail header: one "@", no spaces, quotes, brackets or
// control characters, at most 254 bytes.
bool valid_email_address(const std::string& address);

}  // namespace lotse::core
