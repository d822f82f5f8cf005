// /sync: joined rooms get timeline, state, ephemeral and account data since the token; rooms joined
// (or fully re-synced) since then get their whole state; invites and leaves are listed once.
#include "server/core/sync.hpp"

#include "server/core/ignored_users.hpp"
#include "server/core/stored_json.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace lotse::core {
namespace {

constexpr std::size_t kDefaultTimelineLimit = 10;

boost::json::array parse_json_events(const std::vector<AccountData::Entry>& entries, const std::string& room_id,
                                     const EventFilter& filter) {
  boost::json::array out;
  for (const auto& e : entries) {
    if (e.room_id != room_id || !filter.matches(e.type, "")) continue;
    if (auto content = read_stored_json(e.content_json, "room account data", e.type))
      out.push_back(boost::json::object{{"type", e.type}, {"content", std::move(*content)}});
  }
  return out;
}

}  // namespace

boost::json::object Sync::room_summary(const std::string& room_id, const std::string& user_id) {
  std::int64_t joined = 0, invited = 0;
  boost::json::array heroes;
  for (const auto& [u, m] : rooms_.members(room_id)) {
    if (m == "join") ++joined;
    if (m == "invite") ++invited;
    if ((m == "join" || m == "invite") && u != user_id && heroes.size() < 5) heroes.push_back(boost::json::value(u));
  }
  boost::json::object summary{{"m.joined_member_count", joined}, {"m.invited_member_count", invited}};
  // Heroes name a room that has no name of its own (spec: required only then; Synapse sends them
  // only then, and clients name a room by its m.room.name or canonical alias first).
  auto has = [&](const char* type, const char* key) {
    auto c = rooms_.state_content(room_id, type, "");
    return c && c->contains(key) && c->at(key).is_string() && !c->at(key).get_string().empty();
  };
  if (!has("m.room.name", "name") && !has("m.room.canonical_alias", "alias")) summary["m.heroes"] = std::move(heroes);
  return summary;
}

boost::json::object Sync::invite_state(const std::string& room_id, const std::string& user_id) {
  static const std::set<std::string> kStripped = {"m.room.create",          "m.room.join_rules", "m.room.name",
                                                  "m.room.avatar",          "m.room.topic",      "m.room.encryption",
                                                  "m.room.canonical_alias"};
  boost::json::array events;
  for (const auto& e : rooms_.current_state(room_id)) {
    bool own_member = e.type == "m.room.member" && e.state_key == user_id;
    if (kStripped.count(e.type) || own_member) events.push_back(stripped_state_event(e));
  }
  // The inviter's member event lets clients show who invited them.
  if (auto inv = rooms_.state_event(room_id, "m.room.member", user_id)) {
    if (auto inviter = rooms_.state_event(room_id, "m.room.member", inv->sender); inviter && inv->sender != user_id)
      events.push_back(stripped_state_event(*inviter));
  }
  return {{"invite_state", {{"events", std::move(events)}}}};
}

Sync::RoomSection Sync::room_section(const SyncRequest& req, const std::string& room_id, std::int64_t from,
                                     std::int64_t upto, bool full, bool joined) {
  const auto& user = req.viewer.user_id;
  const auto& filter = req.filter;
  std::size_t limit = filter.timeline.limit.value_or(kDefaultTimelineLimit);
  VisibilityFilter visibility(rooms_, room_id, user);

  // Newest first until we have limit+1 visible, matching events (the extra one tells "limited").
  std::vector<StoredEvent> picked;
  std::int64_t cursor = upto;
  bool exhausted = false;
  while (picked.size() <= limit && !exhausted) {
    std::size_t batch = std::max<std::size_t>(limit + 1, 20);
    auto evs = rooms_.events_between(room_id, from, cursor, true, batch);
    if (evs.size() < batch) exhausted = true;
    for (auto& e : evs) {
      cursor = e.stream - 1;
      if (!visibility.can_see(e) || !filter.timeline.matches(e.type, e.sender) || hidden_by_ignore(req.ignored, e)) continue;
      picked.push_back(std::move(e));
      if (picked.size() > limit) break;
    }
    if (evs.empty()) exhausted = true;
  }
  bool limited = picked.size() > limit;
  if (limited) picked.resize(limit);
  std::reverse(picked.begin(), picked.end());

  std::int64_t timeline_start = picked.empty() ? upto : picked.front().stream - 1;
  // State: the room's state at the end of this section, minus what the timeline already carries.
  // History visibility can hide state events in the middle (e.g. before one's join under "joined"),
  // so "state at the start of the timeline" would lose them; instead every key whose final event
  // is not in the timeline is sent here, and older timeline events of such keys are dropped so the
  // client cannot apply them on top.
  std::vector<StoredEvent> state;
  if (full || limited) {
    std::set<std::string> in_timeline;
    for (const auto& e : picked) in_timeline.insert(e.event_id);
    std::map<std::pair<std::string, std::string>, std::int64_t> final_stream;
    for (auto& e : rooms_.state_at(room_id, upto)) {
      final_stream[{e.type, *e.state_key}] = e.stream;
      if (in_timeline.count(e.event_id)) continue;
      if (!full && e.stream <= from) continue;  // the client has it from before
      state.push_back(std::move(e));
    }
    std::set<std::pair<std::string, std::string>> keys_in_state;
    for (const auto& e : state) keys_in_state.insert({e.type, *e.state_key});
    std::erase_if(picked, [&](const StoredEvent& e) {
      return e.state_key && keys_in_state.count({e.type, *e.state_key}) &&
             final_stream[{e.type, *e.state_key}] > e.stream;
    });
  }
  // Lazy loading: member events only for timeline senders (and the syncing user).
  std::set<std::string> senders;
  for (const auto& e : picked) senders.insert(e.sender);
  if (filter.state.lazy_load_members) {
    std::set<std::string> in_state;
    std::vector<StoredEvent> kept;
    for (auto& e : state) {
      if (e.type == "m.room.member" && !senders.count(*e.state_key) && *e.state_key != user) continue;
      if (e.type == "m.room.member") in_state.insert(*e.state_key);
      kept.push_back(std::move(e));
    }
    state = std::move(kept);
    if (!full) {
      std::set<std::string> in_timeline;
      for (const auto& e : picked)
        if (e.type == "m.room.member") in_timeline.insert(*e.state_key);
      for (const auto& s : senders)
        if (!in_state.count(s) && !in_timeline.count(s))
          if (auto e = rooms_.state_event(room_id, "m.room.member", s)) state.push_back(std::move(*e));
    }
  }

  boost::json::array timeline_json, state_json;
  for (const auto& e : picked) timeline_json.push_back(client_event(rooms_, e, req.viewer, false));
  for (const auto& e : state)
    if (filter.state.matches(e.type, e.sender)) state_json.push_back(client_event(rooms_, e, req.viewer, false));

  RoomSection section;
  section.has_content = full || !timeline_json.empty() || !state_json.empty();
  auto& b = section.body;
  b["timeline"] = {{"events", std::move(timeline_json)},
                   {"limited", limited},
                   {"prev_batch", SyncToken{timeline_start, typing_.serial()}.encode()}};
  b["state"] = {{"events", std::move(state_json)}};

  boost::json::array room_ad = parse_json_events(account_data_.changed_since(user, full ? 0 : from), room_id,
                                                 filter.room_account_data);
  if (!room_ad.empty()) section.has_content = true;
  b["account_data"] = {{"events", std::move(room_ad)}};

  if (joined) {
    boost::json::array ephemeral;
    std::optional<std::uint64_t> typing_since;
    if (req.since && !full) typing_since = req.since->typing;
    if (auto t = typing_.typing_edu(room_id, typing_since); t && filter.ephemeral.matches("m.typing", ""))
      ephemeral.push_back(std::move(*t));
    if (auto r = receipts_.receipt_edu(room_id, full ? 0 : from, user); r && filter.ephemeral.matches("m.receipt", ""))
      ephemeral.push_back(std::move(*r));
    if (!ephemeral.empty()) section.has_content = true;
    b["ephemeral"] = {{"events", std::move(ephemeral)}};

    // Counts from the push rules' decisions after the user's read receipt. With the filter's
    // unread_thread_notifications, thread events are counted per thread and not in the room's count.
    if (filter.timeline.unread_thread_notifications) {
      Notifications::Counts main;
      boost::json::object threads;
      for (const auto& [thread, c] : notifications_.unread_by_thread(room_id, user)) {
        if (thread == "main") main = c;
        else threads[thread] = {{"notification_count", c.notifications}, {"highlight_count", c.highlights}};
      }
      b["unread_notifications"] = {{"notification_count", main.notifications}, {"highlight_count", main.highlights}};
      b["unread_thread_notifications"] = std::move(threads);
    } else {
      auto c = notifications_.unread(room_id, user);
      b["unread_notifications"] = {{"notification_count", c.notifications}, {"highlight_count", c.highlights}};
    }
    b["summary"] = room_summary(room_id, user);
  }
  return section;
}

std::pair<std::set<std::string>, std::set<std::string>> Sync::device_list_delta(const std::string& user,
                                                                                std::int64_t since) {
  auto sharing = keys_.users_sharing_rooms(user);
  std::set<std::string> changed = keys_.changed_since(since, sharing), left;
  // Membership changes since the token in rooms the user is or was in: newly shared users count as
  // changed (their devices are new to the client), users no longer sharing any room as left.
  std::set<std::string> rooms_i_changed_in;
  {
    // Scans only the events after the token (the primary key range), filtered to the user's rooms.
    auto st = db_.conn().prepare(
        "SELECT room_id, state_key, membership FROM events WHERE stream_ordering > ? AND type = 'm.room.member' "
        "AND room_id IN (SELECT room_id FROM memberships WHERE user_id = ?)");
    st.bind_all(since, user);
    while (st.step()) {
      auto who = st.text(1), m = st.text(2);
      if (who == user) rooms_i_changed_in.insert(st.text(0));
      else if (m == "join" && sharing.count(who)) changed.insert(who);
      else if ((m == "leave" || m == "ban") && !sharing.count(who)) left.insert(who);
    }
  }
  for (const auto& room_id : rooms_i_changed_in) {
    bool joined = rooms_.membership(room_id, user) == "join";
    for (const auto& [who, m] : rooms_.members(room_id)) {
      if (who == user) continue;
      if (joined && (m == "join" || m == "invite")) changed.insert(who);
      if (!joined && !sharing.count(who)) left.insert(who);
    }
  }
  for (const auto& u : left) changed.erase(u);
  return {std::move(changed), std::move(left)};
}

// Whether the user was joined at `since` and stayed joined: her member events after it are all
// joins (profile changes), back to a join at or before it. Only then is a newer member event of
// hers no reason for the whole room again (a new display name once sent every room in full).
bool Sync::joined_throughout(const std::string& room_id, const std::string& user_id, std::int64_t since) {
  auto ev = rooms_.state_event(room_id, "m.room.member", user_id);
  for (int hops = 0; ev && hops < 50; ++hops) {
    if (ev->membership != "join") return false;
    if (ev->stream <= since) return true;
    if (!ev->prev_state_event_id) return false;
    ev = rooms_.event(*ev->prev_state_event_id);
  }
  return false;  // a long run of changes: the room in full, as for a join
}

SyncResult Sync::compute(const SyncRequest& req) {
  const auto& user = req.viewer.user_id;
  std::int64_t now = db_.current_stream_id();
  std::int64_t since = req.since ? req.since->stream : 0;
  SyncResult result;
  boost::json::object join, invite, leave;
  std::set<std::string> newly_shared;  // members of rooms joined since the token: their presence as it is

  for (const auto& r : rooms_.rooms_of(user)) {
    if (!req.filter.includes_room(r.room_id)) continue;
    if (r.membership == "join") {
      bool full = !req.since || req.full_state || (r.stream > since && !joined_throughout(r.room_id, user, since));
      auto section = room_section(req, r.room_id, full ? 0 : since, now, full, true);
      if (full || section.has_content) join[r.room_id] = std::move(section.body);
      if (full && req.since && !req.full_state)
        for (const auto& m : rooms_.joined_members(r.room_id)) newly_shared.insert(m);
    } else if (r.membership == "invite") {
      // An invite from someone she ignores is not shown (the invite itself stays until she answers).
      if (!req.ignored.empty())
        if (auto own = rooms_.state_event(r.room_id, "m.room.member", user); own && req.ignored.count(own->sender)) continue;
      if (!req.since || r.stream > since || req.full_state) invite[r.room_id] = invite_state(r.room_id, user);
    } else if (r.membership == "leave" || r.membership == "ban") {
      bool newly_left = req.since && r.stream > since;
      bool include = newly_left || (req.filter.include_leave && (!req.since || req.full_state));
      if (!include) continue;
      // The user's view ends with their leave event.
      auto section = room_section(req, r.room_id, newly_left ? since : 0, r.stream, !newly_left || req.full_state, false);
      leave[r.room_id] = std::move(section.body);
    }
  }

  boost::json::array global_ad;
  for (const auto& e : account_data_.changed_since(user, since))
    if (e.room_id.empty() && req.filter.account_data.matches(e.type, ""))
      if (auto content = read_stored_json(e.content_json, "account data", e.type))
        global_ad.push_back(boost::json::object{{"type", e.type}, {"content", std::move(*content)}});

  // To-device messages after the last one this device has seen, oldest first.
  std::int64_t to_device_pos = req.since ? req.since->to_device : 0;
  boost::json::array to_device;
  for (const auto& m : to_device_.pending(user, req.viewer.device_id, to_device_pos, 100)) {
    if (auto msg = read_stored_json(m.json, "to-device message", std::to_string(m.stream))) to_device.push_back(std::move(*msg));
    to_device_pos = m.stream;
  }
  boost::json::array changed, left;
  if (req.since) {
    auto [c, l] = device_list_delta(user, since);
    newly_shared.insert(c.begin(), c.end());  // among them those who came to share a room with her
    for (const auto& u : c) changed.push_back(boost::json::value(u));
    for (const auto& u : l) left.push_back(boost::json::value(u));
  }
  boost::json::object otk_counts;
  for (const auto& [alg, n] : keys_.one_time_key_counts(user, req.viewer.device_id)) otk_counts[alg] = n;
  boost::json::array fallback_types;
  for (const auto& t : keys_.unused_fallback_key_types(user, req.viewer.device_id))
    fallback_types.push_back(boost::json::value(t));

  std::optional<std::uint64_t> presence_since;
  if (req.since && !req.full_state) presence_since = req.since->presence;
  auto presence = presence_.events_for(user, presence_since, req.filter.presence);
  newly_shared.erase(user);
  if (presence_since) presence_.add_current(presence, user, newly_shared, req.filter.presence);

  result.empty = join.empty() && invite.empty() && leave.empty() && global_ad.empty() && to_device.empty() &&
                 changed.empty() && left.empty() && presence.empty();
  auto& b = result.body;
  b["next_batch"] = SyncToken{now, typing_.serial(), to_device_pos, presence_.serial()}.encode();
  b["rooms"] = {{"join", std::move(join)}, {"invite", std::move(invite)}, {"leave", std::move(leave)}};
  b["account_data"] = {{"events", std::move(global_ad)}};
  b["presence"] = {{"events", std::move(presence)}};
  b["to_device"] = {{"events", std::move(to_device)}};
  b["device_lists"] = {{"changed", std::move(changed)}, {"left", std::move(left)}};
  b["device_one_time_keys_count"] = std::move(otk_counts);
  b["device_unused_fallback_key_types"] = std::move(fallback_types);
  return result;
}

}  // namespace lotse::core
