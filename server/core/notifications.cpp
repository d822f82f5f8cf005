// Notifications: push rule decisions per recipient, unread counts and the notification list.
#include "server/core/notifications.hpp"

#include "server/core/auth_rules.hpp"
#include "server/core/push_rule_evaluator.hpp"
#include "server/core/stored_json.hpp"

namespace lotse::core {
namespace {

std::string thread_of(const boost::json::object& event) {
  auto* content = event.if_contains("content");
  if (!content || !content->is_object()) return "main";
  auto* rel = content->get_object().if_contains("m.relates_to");
  if (!rel || !rel->is_object()) return "main";
  auto* type = rel->get_object().if_contains("rel_type");
  auto* parent = rel->get_object().if_contains("event_id");
  if (type && type->is_string() && type->get_string() == "m.thread" && parent && parent->is_string())
    return std::string(parent->get_string());
  return "main";
}

}  // namespace

const boost::json::object& Notifications::rules_for(const std::string& user_id) {
  if (auto it = rules_cache_.find(user_id); it != rules_cache_.end()) return it->second;
  auto text = account_data_.get(user_id, "", "m.push_rules");
  std::optional<boost::json::object> rules;
  if (text) rules = read_stored_object(*text, "m.push_rules", user_id);
  if (!rules) rules = read_stored_object(default_push_rules(user_id), "default push rules", user_id);
  boost::json::object global;
  if (rules)
    if (auto* g = rules->if_contains("global"); g && g->is_object()) global = g->get_object();
  if (rules_cache_.size() > 20000) rules_cache_.clear();  // a bound, not an eviction policy
  return rules_cache_.emplace(user_id, std::move(global)).first->second;
}

void Notifications::on_event(store::WriteUnit& unit, const RoomInfo& room, const StoredEvent& stored,
                             const boost::json::object& event) {
  auto recipients = rooms_.joined_members(stored.room_id);
  const auto joined = static_cast<std::int64_t>(recipients.size());
  if (stored.type == "m.room.member" && stored.membership == "invite" && stored.state_key)
    recipients.push_back(*stored.state_key);
  if (recipients.empty()) return;
  auto state = rooms_.lookup_for(stored.room_id);
  PushContext ctx;
  ctx.member_count = joined;
  ctx.sender_power = user_power_level(state, stored.sender, room.version, room.creator);
  ctx.notification_level = [&state](const std::string& key) -> std::int64_t {
    if (auto* pl = state("m.room.power_levels", ""))
      if (auto* n = pl->if_contains("notifications"); n && n->is_object())
        if (auto* v = n->get_object().if_contains(key); v && v->is_int64()) return v->get_int64();
    return 50;
  };
  const std::string thread = thread_of(event);
  std::vector<PushJob> jobs;
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    const auto& user = recipients[i];
    if (user == stored.sender) continue;
    ctx.user_id = user;
    ctx.display_name.clear();
    if (auto* m = state("m.room.member", user))
      if (auto* name = m->if_contains("displayname"); name && name->is_string()) ctx.display_name = name->get_string();
    auto decision = evaluate_push_rules(rules_for(user), event, ctx);
    if (!decision.notify) continue;
    // An invite is pushed to its target but not counted: the room's unread counts are for members.
    bool member = static_cast<std::int64_t>(i) < joined;
    if (member) {
      auto st = db_.conn().prepare(
          "INSERT OR REPLACE INTO event_push_actions (user_id, stream_ordering, room_id, event_id, thread_id, "
          "highlight, actions, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
      st.bind_all(user, stored.stream, stored.room_id, stored.event_id, thread, decision.highlight ? 1 : 0,
                  boost::json::serialize(decision.actions), stored.origin_server_ts);
      st.run();
    }
    PushJob job{user, stored.room_id, stored.event_id, stored.stream, decision.highlight, {}};
    for (const auto& a : decision.actions)
      if (a.is_object())
        if (auto* tweak = a.get_object().if_contains("set_tweak"); tweak && tweak->is_string()) {
          auto* v = a.get_object().if_contains("value");
          job.tweaks[tweak->get_string()] = v ? *v : boost::json::value(true);
        }
    jobs.push_back(std::move(job));
  }
  if (!jobs.empty() && sink_) unit.after_commit([this, jobs = std::move(jobs)]() mutable { sink_(std::move(jobs)); });
}

Notifications::Counts Notifications::unread(const std::string& room_id, const std::string& user_id) {
  auto read = receipts_.read_up_to(room_id, user_id).value_or(0);
  auto st = db_.conn().prepare(
      "SELECT count(*), coalesce(sum(highlight), 0) FROM event_push_actions "
      "WHERE room_id = ? AND user_id = ? AND stream_ordering > ?");
  st.bind_all(room_id, user_id, read);
  Counts c;
  if (st.step()) c = {st.int64(0), st.int64(1)};
  return c;
}

std::map<std::string, Notifications::Counts> Notifications::unread_by_thread(const std::string& room_id,
                                                                             const std::string& user_id) {
  auto read = receipts_.read_up_to(room_id, user_id).value_or(0);
  auto st = db_.conn().prepare(
      "SELECT thread_id, count(*), coalesce(sum(highlight), 0) FROM event_push_actions "
      "WHERE room_id = ? AND user_id = ? AND stream_ordering > ? GROUP BY thread_id");
  st.bind_all(room_id, user_id, read);
  std::map<std::string, Counts> out;
  while (st.step()) out[st.text(0)] = {st.int64(1), st.int64(2)};
  return out;
}

std::int64_t Notifications::unread_total(const std::string& user_id) {
  std::int64_t total = 0;
  for (const auto& r : rooms_.rooms_of(user_id))
    if (r.membership == "join") total += unread(r.room_id, user_id).notifications;
  return total;
}

std::vector<Notifications::Item> Notifications::list(const std::string& user_id, std::int64_t before,
                                                     std::size_t limit, bool only_highlight) {
  auto st = db_.conn().prepare(
      "SELECT stream_ordering, room_id, event_id, highlight, actions, ts FROM event_push_actions "
      "WHERE user_id = ?1 AND (?2 = 0 OR stream_ordering < ?2) AND (?3 = 0 OR highlight = 1) "
      "ORDER BY stream_ordering DESC LIMIT ?4");
  st.bind_all(user_id, before, only_highlight ? 1 : 0, static_cast<std::int64_t>(limit));
  std::vector<Item> out;
  std::map<std::string, std::int64_t> read_pos;
  while (st.step()) {
    Item item{st.int64(0), st.text(1), st.text(2), st.int64(3) != 0, st.text(4), st.int64(5), false};
    auto it = read_pos.find(item.room_id);
    if (it == read_pos.end())
      it = read_pos.emplace(item.room_id, receipts_.read_up_to(item.room_id, user_id).value_or(0)).first;
    item.read = item.stream <= it->second;
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace lotse::core
