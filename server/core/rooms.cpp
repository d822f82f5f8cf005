// Event building and storage for rooms.
#include "server/core/rooms.hpp"

#include <chrono>
#include <map>
#include <memory>

#include "e2ee/canonical_json.hpp"
#include "e2ee/safe_json.hpp"
#include "server/core/errors.hpp"
#include "server/core/stored_json.hpp"

namespace lotse::core {
namespace {

constexpr const char* kEventColumns =
    "stream_ordering, event_id, room_id, type, state_key, sender, origin_server_ts, json, membership, "
    "prev_state_event_id, history_visibility, redacted_by, txn_user, txn_device, txn_id";

StoredEvent read_event(const store::Statement& st) {
  StoredEvent e;
  e.stream = st.int64(0);
  e.event_id = st.text(1);
  e.room_id = st.text(2);
  e.type = st.text(3);
  e.state_key = st.opt_text(4);
  e.sender = st.text(5);
  e.origin_server_ts = st.int64(6);
  e.json = st.text(7);
  e.membership = st.opt_text(8);
  e.prev_state_event_id = st.opt_text(9);
  e.history_visibility = st.text(10);
  e.redacted_by = st.opt_text(11);
  e.txn_user = st.opt_text(12);
  e.txn_device = st.opt_text(13);
  e.txn_id = st.opt_text(14);
  return e;
}

std::string select_events(const std::string& where) {
  return std::string("SELECT ") + kEventColumns + " FROM events " + where;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::int64_t Rooms::event_time() const { return backdate_.value_or(now_ms()); }

boost::json::object StoredEvent::parsed() const { return e2ee::parse_stored_object(json); }

boost::json::object StoredEvent::content() const {
  auto o = read_stored_object(json, "event", event_id);
  if (!o) return {};
  auto* c = o->if_contains("content");
  return c && c->is_object() ? c->get_object() : boost::json::object{};
}

std::optional<RoomInfo> Rooms::room(const std::string& room_id) {
  auto st = db_.conn().prepare("SELECT room_version, creator FROM rooms WHERE room_id = ?");
  st.bind_all(room_id);
  if (!st.step()) return std::nullopt;
  RoomInfo info{room_id, kNewestRoomVersion, st.text(1)};
  parse_room_version(st.text(0), info.version);
  return info;
}

void Rooms::insert_room(store::WriteUnit&, const RoomInfo& info) {
  auto st = db_.conn().prepare("INSERT INTO rooms (room_id, room_version, creator, created_ts) VALUES (?, ?, ?, ?)");
  st.bind_all(info.room_id, std::string(to_string(info.version)), info.creator, event_time());
  st.run();
}

Rooms::StateContents& Rooms::cached_state(const std::string& room_id) {
  auto it = state_cache_.find(room_id);
  if (it != state_cache_.end()) return it->second;
  StateContents contents;
  for (const auto& e : current_state(room_id)) contents[{e.type, *e.state_key}] = {e.event_id, e.content()};
  return state_cache_.emplace(room_id, std::move(contents)).first->second;
}

void Rooms::update_cached_state(store::WriteUnit& unit, const std::string& room_id, const std::string& type,
                                const std::string& state_key, CachedStateEvent entry) {
  cached_state(room_id)[{type, state_key}] = std::move(entry);
  unit.on_rollback([this, room_id] { state_cache_.erase(room_id); });
}

StateLookup Rooms::lookup_for(const std::string& room_id) {
  auto* state = &cached_state(room_id);
  return [state](std::string_view type, std::string_view state_key) -> const boost::json::object* {
    auto it = state->find({std::string(type), std::string(state_key)});
    return it == state->end() ? nullptr : &it->second.content;
  };
}

std::optional<std::string> Rooms::current_state_id(const std::string& room_id, const std::string& type,
                                                   const std::string& state_key) {
  auto& state = cached_state(room_id);
  auto it = state.find({type, state_key});
  if (it == state.end()) return std::nullopt;
  return it->second.event_id;
}

StoredEvent Rooms::append(store::WriteUnit& unit, const RoomInfo& room, const std::string& sender,
                          const std::string& type, boost::json::object content,
                          const std::optional<std::string>& state_key, const std::optional<Transaction>& txn) {
  if (type.empty() || type.size() > 255) throw invalid("M_INVALID_PARAM", "event type must be 1 to 255 bytes");
  if (state_key && state_key->size() > 255) throw invalid("M_INVALID_PARAM", "state_key must be at most 255 bytes");

  if (type == "m.room.tombstone")
    if (auto* to = content.if_contains("replacement_room"); to && to->is_string() && to->get_string() == room.room_id)
      throw invalid("M_INVALID_PARAM", "A tombstone cannot name its own room as the replacement.");
  auto state = lookup_for(room.room_id);
  boost::json::object ev;
  ev["room_id"] = room.room_id;
  ev["sender"] = sender;
  ev["type"] = type;
  if (state_key) ev["state_key"] = *state_key;
  ev["origin_server_ts"] = event_time();
  if (number(room.version) <= 10) ev["origin"] = server_name_;

  boost::json::array prev_events;
  std::int64_t depth = 1;
  {
    auto st = db_.conn().prepare(
        "SELECT event_id, depth FROM events WHERE room_id = ? ORDER BY stream_ordering DESC LIMIT 1");
    st.bind_all(room.room_id);
    if (st.step()) {
      prev_events.push_back(boost::json::value(st.text(0)));
      depth = st.int64(1) + 1;
    }
  }
  ev["prev_events"] = prev_events;
  ev["depth"] = depth;

  // Redactions in v11 carry `redacts` in content; the caller puts it there.
  boost::json::array auth_events;
  auto add_auth = [&](const std::string& t, const std::string& k) {
    if (auto id = current_state_id(room.room_id, t, k)) auth_events.push_back(boost::json::value(*id));
  };
  if (type != "m.room.create") {
    add_auth("m.room.create", "");
    add_auth("m.room.power_levels", "");
    add_auth("m.room.member", sender);
    if (type == "m.room.member" && state_key) {
      if (*state_key != sender) add_auth("m.room.member", *state_key);
      auto* m = content.if_contains("membership");
      if (m && m->is_string() && (m->get_string() == "join" || m->get_string() == "invite"))
        add_auth("m.room.join_rules", "");
    }
  }
  ev["auth_events"] = auth_events;
  ev["content"] = std::move(content);

  if (auto reason = check_auth_rules(ev, state, room.version, room.creator)) throw forbidden(*reason);

  std::string event_id;
  try {
    event_id = hash_sign_and_id(ev, room.version, server_name_, key_);
  } catch (const e2ee::CanonicalJsonError& e) {
    throw invalid("M_BAD_JSON", std::string("event content is not valid canonical JSON: ") + e.what());
  }
  std::string json = e2ee::canonical_json(ev);
  if (json.size() > 65536) throw CoreError(ErrorKind::too_large, "M_TOO_LARGE", "event is larger than 64 KiB");

  StoredEvent stored;
  stored.stream = db_.next_stream_id();
  stored.event_id = event_id;
  stored.room_id = room.room_id;
  stored.type = type;
  stored.state_key = state_key;
  stored.sender = sender;
  stored.origin_server_ts = ev["origin_server_ts"].as_int64();
  stored.json = json;
  if (type == "m.room.member") stored.membership = std::string(ev["content"].as_object()["membership"].as_string());
  if (state_key)
    stored.prev_state_event_id = current_state_id(room.room_id, type, *state_key);
  stored.history_visibility = "shared";
  if (auto* hv = state("m.room.history_visibility", ""))
    if (auto* v = hv->if_contains("history_visibility"); v && v->is_string()) stored.history_visibility = v->get_string();
  if (txn) {
    stored.txn_user = txn->user_id;
    stored.txn_device = txn->device_id;
    stored.txn_id = txn->txn_id;
  }

  // m.relates_to stays readable in encrypted events, so relations work for them too.
  std::optional<std::string> relates_to, rel_type;
  if (auto* rel = ev["content"].as_object().if_contains("m.relates_to"); rel && rel->is_object()) {
    auto* parent = rel->as_object().if_contains("event_id");
    auto* kind = rel->as_object().if_contains("rel_type");
    if (parent && parent->is_string() && kind && kind->is_string()) {
      relates_to = std::string(parent->get_string());
      rel_type = std::string(kind->get_string());
    }
  }
  auto st = db_.conn().prepare(
      "INSERT INTO events (stream_ordering, event_id, room_id, type, state_key, sender, origin_server_ts, depth, json, "
      "membership, prev_state_event_id, history_visibility, txn_user, txn_device, txn_id, relates_to, rel_type) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  st.bind_all(stored.stream, stored.event_id, stored.room_id, stored.type, stored.state_key, stored.sender,
              stored.origin_server_ts, depth, stored.json, stored.membership, stored.prev_state_event_id,
              stored.history_visibility, stored.txn_user, stored.txn_device, stored.txn_id, relates_to, rel_type);
  st.run();

  if (state_key) {
    update_cached_state(unit, room.room_id, type, *state_key, {event_id, ev["content"].as_object()});
    auto cs = db_.conn().prepare(
        "INSERT INTO current_state (room_id, type, state_key, event_id, stream_ordering) VALUES (?1, ?2, ?3, ?4, ?5) "
        "ON CONFLICT (room_id, type, state_key) DO UPDATE SET event_id = ?4, stream_ordering = ?5");
    cs.bind_all(room.room_id, type, *state_key, event_id, stored.stream);
    cs.run();
    if (stored.membership) {
      auto ms = db_.conn().prepare(
          "INSERT INTO memberships (room_id, user_id, membership, stream_ordering, forgotten) VALUES (?1, ?2, ?3, ?4, 0) "
          "ON CONFLICT (room_id, user_id) DO UPDATE SET membership = ?3, stream_ordering = ?4, forgotten = 0");
      ms.bind_all(room.room_id, *state_key, *stored.membership, stored.stream);
      ms.run();
    }
  }
  if (txn) {
    auto ts = db_.conn().prepare("INSERT INTO transactions (user_id, device_id, txn_id, event_id) VALUES (?, ?, ?, ?)");
    ts.bind_all(txn->user_id, txn->device_id, txn->txn_id, event_id);
    ts.run();
  }
  // Imported history (backdated) was read in the old system: it neither counts nor pushes.
  if (append_observer_ && !backdate_) append_observer_(unit, room, stored, ev);
  notify_room_after_commit(unit, room.room_id, type == "m.room.member" ? state_key : std::nullopt);
  return stored;
}

void Rooms::notify_room_after_commit(store::WriteUnit& unit, const std::string& room_id,
                                     const std::optional<std::string>& also_user) {
  std::vector<std::string> users;
  for (auto& [user, m] : members(room_id))
    if (m == "join" || m == "invite") users.push_back(user);
  if (also_user) users.push_back(*also_user);
  unit.after_commit([this, users = std::move(users)] {
    for (const auto& u : users) notifier_.notify_user(u);
  });
}

std::optional<StoredEvent> Rooms::event(const std::string& event_id) {
  auto st = db_.conn().prepare(select_events("WHERE event_id = ?"));
  st.bind_all(event_id);
  if (!st.step()) return std::nullopt;
  return read_event(st);
}

std::optional<StoredEvent> Rooms::state_event(const std::string& room_id, const std::string& type,
                                              const std::string& state_key) {
  auto st = db_.conn().prepare(
      select_events("WHERE stream_ordering = (SELECT stream_ordering FROM current_state WHERE room_id = ? AND type = ? "
                    "AND state_key = ?)"));
  st.bind_all(room_id, type, state_key);
  if (!st.step()) return std::nullopt;
  return read_event(st);
}

std::optional<boost::json::object> Rooms::state_content(const std::string& room_id, const std::string& type,
                                                        const std::string& state_key) {
  auto e = state_event(room_id, type, state_key);
  if (!e) return std::nullopt;
  return e->content();
}

std::vector<StoredEvent> Rooms::current_state(const std::string& room_id) {
  std::vector<StoredEvent> out;
  auto st = db_.conn().prepare(select_events(
      "WHERE stream_ordering IN (SELECT stream_ordering FROM current_state WHERE room_id = ?) ORDER BY stream_ordering"));
  st.bind_all(room_id);
  while (st.step()) out.push_back(read_event(st));
  return out;
}

std::vector<StoredEvent> Rooms::state_at(const std::string& room_id, std::int64_t at) {
  std::vector<StoredEvent> out;
  auto st = db_.conn().prepare(select_events(
      "WHERE stream_ordering IN (SELECT max(stream_ordering) FROM events WHERE room_id = ?1 AND state_key IS NOT NULL "
      "AND stream_ordering <= ?2 GROUP BY type, state_key) ORDER BY stream_ordering"));
  st.bind_all(room_id, at);
  while (st.step()) out.push_back(read_event(st));
  return out;
}

std::vector<StoredEvent> Rooms::events_between(const std::string& room_id, std::int64_t from_exclusive,
                                               std::int64_t to_inclusive, bool backwards, std::size_t limit) {
  std::vector<StoredEvent> out;
  auto st = db_.conn().prepare(select_events(
      std::string("WHERE room_id = ? AND stream_ordering > ? AND stream_ordering <= ? ORDER BY stream_ordering ") +
      (backwards ? "DESC" : "ASC") + " LIMIT ?"));
  st.bind_all(room_id, from_exclusive, to_inclusive, static_cast<std::int64_t>(limit));
  while (st.step()) out.push_back(read_event(st));
  return out;
}

std::optional<std::int64_t> Rooms::last_stream(const std::string& room_id) {
  auto st = db_.conn().prepare("SELECT max(stream_ordering) FROM events WHERE room_id = ?");
  st.bind_all(room_id);
  if (st.step() && !st.is_null(0)) return st.int64(0);
  return std::nullopt;
}

std::string Rooms::membership(const std::string& room_id, const std::string& user_id) {
  auto st = db_.conn().prepare("SELECT membership FROM memberships WHERE room_id = ? AND user_id = ?");
  st.bind_all(room_id, user_id);
  return st.step() ? st.text(0) : "leave";
}

std::vector<std::pair<std::string, std::string>> Rooms::members(const std::string& room_id) {
  std::vector<std::pair<std::string, std::string>> out;
  auto st = db_.conn().prepare("SELECT user_id, membership FROM memberships WHERE room_id = ? ORDER BY user_id");
  st.bind_all(room_id);
  while (st.step()) out.emplace_back(st.text(0), st.text(1));
  return out;
}

std::vector<std::string> Rooms::joined_members(const std::string& room_id) {
  std::vector<std::string> out;
  for (auto& [u, m] : members(room_id))
    if (m == "join") out.push_back(u);
  return out;
}

std::vector<Rooms::UserRoom> Rooms::rooms_of(const std::string& user_id, bool include_forgotten) {
  std::vector<UserRoom> out;
  auto st = db_.conn().prepare(
      std::string("SELECT room_id, membership, stream_ordering FROM memberships WHERE user_id = ?") +
      (include_forgotten ? "" : " AND forgotten = 0") + " ORDER BY stream_ordering");
  st.bind_all(user_id);
  while (st.step()) out.push_back(UserRoom{st.text(0), st.text(1), st.int64(2)});
  return out;
}

bool Rooms::share_room(const std::string& a, const std::string& b) {
  auto st = db_.conn().prepare(
      "SELECT 1 FROM memberships mine JOIN memberships other ON other.room_id = mine.room_id "
      "WHERE mine.user_id = ? AND other.user_id = ? AND mine.membership IN ('join', 'invite') "
      "AND other.membership IN ('join', 'invite') LIMIT 1");
  st.bind_all(a, b);
  return st.step();
}

std::set<std::string> sharing_users(store::Database& db, const std::string& user_id,
                                    const std::vector<std::string>& except_roles) {
  std::string sql = "SELECT DISTINCT other.user_id FROM memberships mine JOIN memberships other ON other.room_id = mine.room_id ";
  if (!except_roles.empty()) sql += "JOIN users u ON u.user_id = other.user_id ";
  sql += "WHERE mine.user_id = ? AND other.user_id != mine.user_id AND mine.membership IN ('join', 'invite') "
         "AND other.membership IN ('join', 'invite')";
  if (!except_roles.empty()) {
    sql += " AND u.role NOT IN (?";
    for (std::size_t i = 1; i < except_roles.size(); ++i) sql += ", ?";
    sql += ")";
  }
  auto st = db.conn().prepare(sql);
  st.bind(1, user_id);
  for (std::size_t i = 0; i < except_roles.size(); ++i) st.bind(static_cast<int>(i + 2), except_roles[i]);
  std::set<std::string> out;
  while (st.step()) out.insert(st.text(0));
  return out;
}

std::set<std::string> Rooms::sharing_users(const std::string& user_id, const std::vector<std::string>& except_roles) {
  return core::sharing_users(db_, user_id, except_roles);
}

void Rooms::forget(store::WriteUnit&, const std::string& room_id, const std::string& user_id) {
  auto st = db_.conn().prepare("UPDATE memberships SET forgotten = 1 WHERE room_id = ? AND user_id = ?");
  st.bind_all(room_id, user_id);
  st.run();
}

std::vector<std::pair<std::int64_t, std::string>> Rooms::membership_history(const std::string& room_id,
                                                                            const std::string& user_id) {
  std::vector<std::pair<std::int64_t, std::string>> out;
  auto st = db_.conn().prepare(
      "SELECT stream_ordering, membership FROM events WHERE room_id = ? AND type = 'm.room.member' AND state_key = ? "
      "ORDER BY stream_ordering");
  st.bind_all(room_id, user_id);
  while (st.step()) out.emplace_back(st.int64(0), st.text(1));
  return out;
}

std::vector<StoredEvent> Rooms::relations(const std::string& parent, const std::optional<std::string>& rel_type,
                                         const std::optional<std::string>& event_type, std::int64_t from_exclusive,
                                         std::int64_t to_inclusive, bool backwards, std::size_t limit) {
  std::vector<StoredEvent> out;
  auto st = db_.conn().prepare(select_events(
      std::string("WHERE relates_to = ?1 AND (?2 IS NULL OR rel_type = ?2) AND (?3 IS NULL OR type = ?3) "
                  "AND stream_ordering > ?4 AND stream_ordering <= ?5 ORDER BY stream_ordering ") +
      (backwards ? "DESC" : "ASC") + " LIMIT ?6"));
  st.bind_all(parent, rel_type, event_type, from_exclusive, to_inclusive, static_cast<std::int64_t>(limit));
  while (st.step()) out.push_back(read_event(st));
  return out;
}

std::vector<Rooms::ThreadRoot> Rooms::threads(const std::string& room_id, std::int64_t before, std::size_t limit,
                                              const std::optional<std::string>& participant) {
  std::vector<ThreadRoot> out;
  auto st = db_.conn().prepare(
      "SELECT c.relates_to, max(c.stream_ordering) AS latest FROM events c JOIN events r ON r.event_id = c.relates_to "
      "WHERE c.room_id = ?1 AND c.rel_type = 'm.thread' AND r.room_id = ?1 "
      "AND (?3 IS NULL OR r.sender = ?3 OR EXISTS (SELECT 1 FROM events p WHERE p.relates_to = c.relates_to "
      "AND p.rel_type = 'm.thread' AND p.sender = ?3)) "
      "GROUP BY c.relates_to HAVING latest < ?2 ORDER BY latest DESC LIMIT ?4");
  st.bind_all(room_id, before, participant, static_cast<std::int64_t>(limit));
  while (st.step()) out.push_back(ThreadRoot{st.text(0), st.int64(1)});
  return out;
}

std::optional<Rooms::ThreadSummary> Rooms::thread_summary(const std::string& root_id, const std::string& user_id) {
  auto st = db_.conn().prepare(
      "SELECT count(*), (SELECT event_id FROM events WHERE relates_to = ?1 AND rel_type = 'm.thread' "
      "ORDER BY stream_ordering DESC LIMIT 1), "
      "EXISTS (SELECT 1 FROM events WHERE relates_to = ?1 AND rel_type = 'm.thread' AND sender = ?2) "
      "FROM events WHERE relates_to = ?1 AND rel_type = 'm.thread'");
  st.bind_all(root_id, user_id);
  if (!st.step() || st.int64(0) == 0) return std::nullopt;
  return ThreadSummary{st.int64(0), st.text(1), st.int64(2) != 0};
}

std::optional<std::string> Rooms::transaction_event(const Transaction& txn) {
  auto st = db_.conn().prepare("SELECT event_id FROM transactions WHERE user_id = ? AND device_id = ? AND txn_id = ?");
  st.bind_all(txn.user_id, txn.device_id, txn.txn_id);
  if (!st.step()) return std::nullopt;
  return st.text(0);
}

void Rooms::apply_redaction(store::WriteUnit& unit, const RoomInfo& room, const StoredEvent& redaction,
                            const std::string& target_event_id) {
  auto target = event(target_event_id);
  if (!target || target->room_id != room.room_id || target->redacted_by) return;
  // A stored event that can no longer be read (read_stored_object logs it) is redacted all the same:
  // what a redaction keeps comes from its columns, and its content goes, as redaction wants.
  auto stored = read_stored_object(target->json, "event", target_event_id);
  if (!stored) {
    stored = boost::json::object{{"room_id", target->room_id}, {"sender", target->sender}, {"type", target->type},
                                 {"origin_server_ts", target->origin_server_ts}, {"content", boost::json::object{}}};
    if (target->state_key) (*stored)["state_key"] = *target->state_key;
  }
  auto redacted = redact(*stored, room.version);
  // A redacted state event that is still current changes the room's state too.
  if (target->state_key)
    if (current_state_id(room.room_id, target->type, *target->state_key) == target_event_id)
      update_cached_state(unit, room.room_id, target->type, *target->state_key,
                          {target_event_id, redacted["content"].as_object()});
  // The redacted content no longer relates to anything.
  auto st = db_.conn().prepare(
      "UPDATE events SET json = ?, redacted_by = ?, relates_to = NULL, rel_type = NULL WHERE event_id = ?");
  st.bind_all(e2ee::canonical_json(redacted), redaction.event_id, target_event_id);
  st.run();
}

}  // namespace lotse::core
