// Presence states in memory; see presence.hpp for who sees what.
#include "server/core/presence.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include "server/core/errors.hpp"

namespace lotse::core {
namespace {
constexpr std::int64_t kIdleMs = 5 * 60 * 1000;
constexpr std::size_t kMaxStatusBytes = 512;
constexpr std::size_t kFewChanges = 4;
// Accounts that have no presence and see none (presence.hpp).
const std::vector<std::string> kWithoutPresence{"seeker", "service", "bridge"};

bool known_state(const std::string& s) { return s == "online" || s == "unavailable" || s == "offline"; }
}  // namespace

Presence::Presence(Rooms& rooms, Accounts& accounts, Notifier& notifier)
    : rooms_(rooms), accounts_(accounts), notifier_(notifier), serial_(start_serial()) {}

std::int64_t Presence::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool Presence::has_presence(const std::string& user_id) {
  auto role = accounts_.role(user_id);
  return std::find(kWithoutPresence.begin(), kWithoutPresence.end(), role) == kWithoutPresence.end();
}

bool Presence::visible(const std::string& viewer, const std::string& user) {
  if (!has_presence(viewer) || !has_presence(user)) return false;
  return viewer == user || rooms_.share_room(viewer, user);
}

void Presence::changed(const std::string& user_id, Entry& e) {
  if (e.changed_at) by_change_.erase(e.changed_at);
  e.changed_at = ++serial_;
  by_change_[e.changed_at] = user_id;
  // Everyone who may see it: the user's other devices and those sharing a joined room (not the
  // seekers there, whose long-polls would wake for nothing).
  notifier_.notify_user(user_id);
  std::set<std::string> woken{user_id};
  for (const auto& room : rooms_.rooms_of(user_id))
    if (room.membership == "join")
      for (const auto& member : rooms_.joined_members(room.room_id))
        if (woken.insert(member).second && has_presence(member)) notifier_.notify_user(member);
}

void Presence::set(const std::string& user_id, const std::string& presence, const std::optional<std::string>& status_msg) {
  if (!known_state(presence)) throw invalid("M_INVALID_PARAM", "presence must be online, unavailable or offline");
  if (status_msg && status_msg->size() > kMaxStatusBytes) throw invalid("M_INVALID_PARAM", "status_msg is longer than 512 bytes");
  if (!has_presence(user_id)) return;
  auto& e = entries_[user_id];
  if (presence != "offline") e.last_active_ms = now_ms();
  if (e.presence == presence && e.status_msg == status_msg && e.changed_at) return;
  e.presence = presence;
  e.status_msg = status_msg;
  changed(user_id, e);
}

void Presence::synced(const std::string& user_id, const std::string& set_presence) {
  if (!known_state(set_presence)) throw invalid("M_INVALID_PARAM", "set_presence must be online, unavailable or offline");
  if (set_presence == "offline" || !has_presence(user_id)) return;
  auto& e = entries_[user_id];
  bool idle = e.presence == "online" && now_ms() - e.last_active_ms > kIdleMs;  // seen as unavailable until now
  e.last_active_ms = now_ms();
  // The default ("online") brings her online from offline or idle, but keeps an "unavailable" she
  // set herself (Element sets it when she is away while its sync goes on).
  bool keeps = set_presence == "online" && e.presence == "unavailable" && e.changed_at;
  if ((e.presence == set_presence || keeps) && e.changed_at && !idle) return;
  e.presence = set_presence;
  changed(user_id, e);
}

boost::json::object Presence::content(const std::string& user_id) const {
  auto it = entries_.find(user_id);
  if (it == entries_.end()) return {{"presence", "offline"}};
  const auto& e = it->second;
  std::int64_t ago = now_ms() - e.last_active_ms;
  std::string presence = e.presence == "online" && ago > kIdleMs ? "unavailable" : e.presence;
  boost::json::object out{{"presence", presence}, {"currently_active", presence == "online"}};
  if (e.last_active_ms) out["last_active_ago"] = ago;
  if (e.status_msg) out["status_msg"] = *e.status_msg;
  return out;
}

void Presence::add_current(boost::json::array& events, const std::string& viewer, const std::set<std::string>& users,
                           const EventFilter& filter) {
  if (users.empty() || !filter.matches("m.presence", "") || !has_presence(viewer)) return;
  std::set<std::string> sent;
  for (const auto& e : events) sent.insert(std::string(e.as_object().at("sender").as_string()));
  for (const auto& user : users) {
    if (sent.count(user) || !entries_.count(user) || !filter.matches("m.presence", user) || !visible(viewer, user)) continue;
    events.push_back(boost::json::object{{"type", "m.presence"}, {"sender", user}, {"content", content(user)}});
  }
}

boost::json::array Presence::events_for(const std::string& viewer, std::optional<std::uint64_t> since_serial,
                                        const EventFilter& filter) {
  boost::json::array out;
  auto from = by_change_.upper_bound(since_serial.value_or(0));
  if (from == by_change_.end() || !filter.matches("m.presence", "") || !has_presence(viewer)) return out;  // the usual case first
  // A few changes are checked one by one; more (everyone's, after a long poll or on an initial sync)
  // against the set of those she may see, from one query: never a query per change.
  std::size_t changes = 0;
  for (auto it = from; it != by_change_.end() && changes <= kFewChanges; ++it) ++changes;
  std::optional<std::set<std::string>> peers;
  if (changes > kFewChanges) peers = rooms_.sharing_users(viewer, kWithoutPresence);
  for (auto it = from; it != by_change_.end(); ++it) {
    const auto& user = it->second;
    if (!filter.matches("m.presence", user)) continue;
    if (peers ? user != viewer && !peers->count(user) : !visible(viewer, user)) continue;
    out.push_back(boost::json::object{{"type", "m.presence"}, {"sender", user}, {"content", content(user)}});
  }
  return out;
}

}  // namespace lotse::core
