// Notifications: push rule decisions per recipient, unread counts and the notification list.
#include "server/core/notifications.hpp"

#include "server/core/auth_rules.hpp"
#include "server/core/ignored_users.hpp"
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

Notifications::Notifications(store::Database& db, Rooms& rooms, AccountData& account_data,
                             std::set<std::string> unnotified)
    : db_(db), rooms_(rooms), account_data_(account_data), unnotified_(std::move(unnotified)) {
  auto& conn = db_.conn();
  // With no user (NULL): everyone's number.
  conn.define_function("lotse_unread_changed", [this](std::string_view user) {
    if (user.empty()) unread_cache_.clear();
    else unread_cache_.erase(std::string(user));
  });
  // Only ever inserted by on_event, for a new event (after every receipt) to a joined member: one more.
  conn.define_function("lotse_unread_added", [this](std::string_view user) {
    if (auto it = unread_cache_.find(std::string(user)); it != unread_cache_.end()) ++it->second;
  });
  conn.exec(
      "CREATE TEMP TRIGGER IF NOT EXISTS unread_receipt_insert AFTER INSERT ON main.receipts "
      "BEGIN SELECT lotse_unread_changed(NEW.user_id); END;"
      "CREATE TEMP TRIGGER IF NOT EXISTS unread_receipt_update AFTER UPDATE ON main.receipts "
      "BEGIN SELECT lotse_unread_changed(OLD.user_id); SELECT lotse_unread_changed(NEW.user_id); END;"
      "CREATE TEMP TRIGGER IF NOT EXISTS unread_receipt_delete AFTER DELETE ON main.receipts "
      "BEGIN SELECT lotse_unread_changed(OLD.user_id); END;"
      "CREATE TEMP TRIGGER IF NOT EXISTS unread_membership_insert AFTER INSERT ON main.memberships "
      "BEGIN SELECT lotse_unread_changed(NEW.user_id); END;"
      "CREATE TEMP TRIGGER IF NOT EXISTS unread_membership_update AFTER UPDATE ON main.memberships "
      "BEGIN SELECT lotse_unread_changed(OLD.user_id); SELECT lotse_unread_changed(NEW.user_id); END;"
      "CREATE TEMP TRIGGER IF NOT EXISTS unread_membership_delete AFTER DELETE ON main.memberships "
      "BEGIN SELECT lotse_unread_changed(OLD.user_id); END;"
      "CREATE TEMP TRIGGER IF NOT EXISTS unread_action_insert AFTER INSERT ON main.event_push_actions "
      "BEGIN SELECT lotse_unread_added(NEW.user_id); END;"
      "CREATE TEMP TRIGGER IF NOT EXISTS unread_action_update AFTER UPDATE ON main.event_push_actions "
      "BEGIN SELECT lotse_unread_changed(OLD.user_id); SELECT lotse_unread_changed(NEW.user_id); END;"
      "CREATE TEMP TRIGGER IF NOT EXISTS unread_action_delete AFTER DELETE ON main.event_push_actions "
      "BEGIN SELECT lotse_unread_changed(OLD.user_id); END;"
      // A redaction (or a purge) takes the event out of the count of everyone it notified. Who that
      // was is not indexed (event_push_actions is keyed by user), and both are rare: all numbers go.
      "CREATE TEMP TRIGGER IF NOT EXISTS unread_event_redacted AFTER UPDATE OF redacted_by ON main.events "
      "BEGIN SELECT lotse_unread_changed(NULL); END;"
      "CREATE TEMP TRIGGER IF NOT EXISTS unread_event_delete AFTER DELETE ON main.events "
      "BEGIN SELECT lotse_unread_changed(NULL); END;");
}

Notifications::~Notifications() {
  // The connection outlives this object: its triggers must no longer reach it.
  db_.conn().define_function("lotse_unread_changed", nullptr);
  db_.conn().define_function("lotse_unread_added", nullptr);
}

const std::shared_ptr<const boost::json::object>& Notifications::rules_for(const std::string& user_id) {
  if (auto it = rules_cache_.find(user_id); it != rules_cache_.end()) return it->second;
  if (rules_cache_.size() > 5000) rules_cache_.clear();  // a bound, not an eviction policy
  std::optional<boost::json::object> rules;
  // Accounts start with the defaults stored (so that /sync delivers them): those, unchanged, are
  // the template too.
  auto text = account_data_.get(user_id, "", "m.push_rules");
  if (text && *text != default_push_rules(user_id)) rules = read_stored_object(*text, "m.push_rules", user_id);
  auto* g = rules ? rules->if_contains("global") : nullptr;
  if (g && g->is_object())
    return rules_cache_.emplace(user_id, std::make_shared<const boost::json::object>(std::move(g->get_object()))).first->second;
  // The defaults, none stored, or a document without rules (which GET /pushrules also reads as the
  // defaults): the shared template, one parsed copy for every such user.
  if (!default_rules_) {
    auto parsed = read_stored_object(std::string(default_push_rules_template()), "default push rules", "");
    auto* dg = parsed ? parsed->if_contains("global") : nullptr;
    default_rules_ = std::make_shared<const boost::json::object>(dg && dg->is_object() ? dg->get_object() : boost::json::object{});
  }
  return rules_cache_.emplace(user_id, default_rules_).first->second;
}

const std::set<std::string>& Notifications::ignored_by(const std::string& user_id) {
  if (auto it = ignored_cache_.find(user_id); it != ignored_cache_.end()) return it->second;
  if (ignored_cache_.size() > 5000) ignored_cache_.clear();  // a bound, not an eviction policy
  return ignored_cache_.emplace(user_id, ignored_users(account_data_, user_id)).first->second;
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
  bool rollback_drops_numbers = false;
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    const auto& user = recipients[i];
    if (user == stored.sender || unnotified_.count(user)) continue;
    // Nothing from someone she ignores counts or pushes: no message, no invite.
    if (ignored_by(user).count(stored.sender) && (!stored.state_key || *stored.state_key == user)) continue;
    ctx.user_id = user;
    ctx.display_name.clear();
    if (auto* m = state("m.room.member", user))
      if (auto* name = m->if_contains("displayname"); name && name->is_string()) ctx.display_name = name->get_string();
    const auto& rules = rules_for(user);
    ctx.rules_are_template = rules == default_rules_;
    auto decision = evaluate_push_rules(*rules, event, ctx);
    if (!decision.notify) continue;
    // An invite is pushed to its target but not counted: the room's unread counts are for members.
    bool member = static_cast<std::int64_t>(i) < joined;
    if (member) {
      // A counted user's number grows by one here, through the insert trigger; if the unit is rolled
      // back (rare: an error), every number goes, with one callback per event rather than per user.
      if (!rollback_drops_numbers && unread_cache_.count(user)) {
        unit.on_rollback([this] { unread_cache_.clear(); });
        rollback_drops_numbers = true;
      }
      auto st = db_.conn().prepare(
          "INSERT OR IGNORE INTO event_push_actions (user_id, stream_ordering, room_id, event_id, thread_id, "
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

// Read positions in a room: the unthreaded receipt covers everything up to it; a threaded one
// (thread_id "main" or a root's id) only its thread (client-server API "Threaded read receipts").
Notifications::ReadPositions Notifications::read_positions(const std::string& room_id, const std::string& user_id) {
  ReadPositions pos;
  auto st = db_.conn().prepare(
      "SELECT r.thread_id, max(e.stream_ordering) FROM receipts r JOIN events e ON e.event_id = r.event_id "
      "WHERE r.room_id = ? AND r.user_id = ? AND r.receipt_type IN ('m.read', 'm.read.private') GROUP BY r.thread_id");
  st.bind_all(room_id, user_id);
  while (st.step()) {
    if (st.text(0).empty()) pos.unthreaded = st.int64(1);
    else pos.threads[st.text(0)] = st.int64(1);
  }
  return pos;
}

std::map<std::string, Notifications::Counts> Notifications::unread_by_thread(const std::string& room_id,
                                                                             const std::string& user_id) {
  auto pos = read_positions(room_id, user_id);
  // Everything after the unthreaded receipt, then each row against its thread's own receipt.
  auto st = db_.conn().prepare(
      "SELECT a.thread_id, a.stream_ordering, a.highlight FROM event_push_actions a "
      "JOIN events e ON e.stream_ordering = a.stream_ordering "
      "WHERE a.room_id = ? AND a.user_id = ? AND a.stream_ordering > ? AND e.redacted_by IS NULL");
  st.bind_all(room_id, user_id, pos.unthreaded);
  std::map<std::string, Counts> out;
  while (st.step()) {
    auto thread = st.text(0);
    auto it = pos.threads.find(thread);
    if (it != pos.threads.end() && st.int64(1) <= it->second) continue;
    auto& c = out[thread];
    ++c.notifications;
    c.highlights += st.int64(2) != 0;
  }
  return out;
}

Notifications::Counts Notifications::unread(const std::string& room_id, const std::string& user_id) {
  Counts total;
  for (const auto& [thread, c] : unread_by_thread(room_id, user_id)) {
    total.notifications += c.notifications;
    total.highlights += c.highlights;
  }
  return total;
}

std::int64_t Notifications::unread_total(const std::string& user_id) {
  if (auto it = unread_cache_.find(user_id); it != unread_cache_.end()) return it->second;
  // The badge: unread notifications in the rooms the user is joined to, after each room's
  // unthreaded receipt (threaded receipts are not looked at for this one number).
  auto st = db_.conn().prepare(
      "SELECT count(*) FROM event_push_actions a JOIN events e ON e.stream_ordering = a.stream_ordering "
      "WHERE a.user_id = ?1 AND e.redacted_by IS NULL "
      "AND a.room_id IN (SELECT room_id FROM memberships WHERE user_id = ?1 AND membership = 'join') "
      "AND a.stream_ordering > coalesce((SELECT max(e2.stream_ordering) FROM receipts r JOIN events e2 ON e2.event_id = r.event_id "
      "WHERE r.room_id = a.room_id AND r.user_id = ?1 AND r.thread_id = '' AND r.receipt_type IN ('m.read', 'm.read.private')), 0)");
  st.bind_all(user_id);
  std::int64_t total = st.step() ? st.int64(0) : 0;
  // Not while a write unit is open: what it wrote could still be rolled back.
  if (!db_.in_write_unit()) {
    if (unread_cache_.size() > 100000) unread_cache_.clear();  // a bound, not an eviction policy
    unread_cache_.emplace(user_id, total);
  }
  return total;
}

void Notifications::prune(store::WriteUnit&, std::int64_t older_than_ts) {
  auto st = db_.conn().prepare("DELETE FROM event_push_actions WHERE ts < ?");
  st.bind_all(older_than_ts);
  st.run();
}

std::vector<Notifications::Item> Notifications::list(const std::string& user_id, std::int64_t before,
                                                     std::size_t limit, bool only_highlight) {
  auto st = db_.conn().prepare(
      "SELECT a.stream_ordering, a.room_id, a.event_id, a.highlight, a.actions, a.ts FROM event_push_actions a "
      "JOIN events e ON e.stream_ordering = a.stream_ordering "
      "WHERE a.user_id = ?1 AND (?2 = 0 OR a.stream_ordering < ?2) AND (?3 = 0 OR a.highlight = 1) "
      "AND e.redacted_by IS NULL ORDER BY a.stream_ordering DESC LIMIT ?4");
  st.bind_all(user_id, before, only_highlight ? 1 : 0, static_cast<std::int64_t>(limit));
  std::vector<Item> out;
  std::map<std::string, std::int64_t> read_pos;
  while (st.step()) {
    Item item{st.int64(0), st.text(1), st.text(2), st.int64(3) != 0, st.text(4), st.int64(5), false};
    auto it = read_pos.find(item.room_id);
    if (it == read_pos.end())
      it = read_pos.emplace(item.room_id, read_positions(item.room_id, user_id).unthreaded).first;
    item.read = item.stream <= it->second;
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace lotse::core
