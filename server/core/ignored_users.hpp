// The users a user ignores (client-server API "Ignoring Users", account data m.ignored_user_list):
// their events other than state do not reach the ignoring user in /sync or /messages, their invites
// are not shown, and they neither count nor push for that user (notifications.cpp).
#pragma once
#include <set>
#include <string>

#include "server/core/account_data.hpp"
#include "server/core/rooms.hpp"

namespace lotse::core {

// The user ids in `user_id`'s m.ignored_user_list (its "ignored_users" object); empty when unset or
// unreadable.
std::set<std::string> ignored_users(AccountData& account_data, const std::string& user_id);

// Whether `e` is hidden from someone who ignores `ignored`: any non-state event of an ignored sender.
inline bool hidden_by_ignore(const std::set<std::string>& ignored, const StoredEvent& e) {
  return !e.state_key && ignored.count(e.sender) > 0;
}

}  // namespace lotse::core
