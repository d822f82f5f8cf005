// Filter parsing and matching; type patterns may end in '*'.
#include "server/core/filters.hpp"

#include <algorithm>

#include "server/core/errors.hpp"
#include "server/core/identifiers.hpp"

namespace lotse::core {
namespace {

bool pattern_matches(const std::string& pattern, const std::string& value) {
  if (!pattern.empty() && pattern.back() == '*') return value.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  return pattern == value;
}

bool any_matches(const std::vector<std::string>& patterns, const std::string& value) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const auto& p) { return pattern_matches(p, value); });
}

std::vector<std::string> string_list(const boost::json::object& o, const char* key) {
  std::vector<std::string> out;
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return out;
  if (!v->is_array()) throw invalid("M_BAD_JSON", std::string("filter field ") + key + " must be a list of strings");
  for (const auto& e : v->get_array()) {
    if (!e.is_string()) throw invalid("M_BAD_JSON", std::string("filter field ") + key + " must be a list of strings");
    out.emplace_back(e.get_string());
  }
  return out;
}

std::optional<std::vector<std::string>> opt_list(const boost::json::object& o, const char* key) {
  if (!o.contains(key) || o.at(key).is_null()) return std::nullopt;
  return string_list(o, key);
}

// A list of room IDs or user IDs: each one well-formed, else the filter is refused (400).
std::vector<std::string> id_list(const boost::json::object& o, const char* key, bool (*valid)(std::string_view)) {
  auto ids = string_list(o, key);
  for (const auto& id : ids)
    if (!valid(id)) throw invalid("M_INVALID_PARAM", std::string("filter field ") + key + " holds '" + id + "', which is no valid ID");
  return ids;
}

const boost::json::object& sub_object(const boost::json::object& o, const char* key) {
  static const boost::json::object empty;
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return empty;
  if (!v->is_object()) throw invalid("M_BAD_JSON", std::string("filter field ") + key + " must be an object");
  return v->get_object();
}

bool get_bool(const boost::json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  if (!v) return false;
  if (!v->is_bool()) throw invalid("M_BAD_JSON", std::string("filter field ") + key + " must be a boolean");
  return v->get_bool();
}

}  // namespace

bool EventFilter::matches(const std::string& type, const std::string& sender) const {
  if (types && !any_matches(*types, type)) return false;
  if (any_matches(not_types, type)) return false;
  if (senders && std::find(senders->begin(), senders->end(), sender) == senders->end()) return false;
  if (std::find(not_senders.begin(), not_senders.end(), sender) != not_senders.end()) return false;
  return true;
}

bool SyncFilter::includes_room(const std::string& room_id) const {
  if (rooms && std::find(rooms->begin(), rooms->end(), room_id) == rooms->end()) return false;
  return std::find(not_rooms.begin(), not_rooms.end(), room_id) == not_rooms.end();
}

EventFilter parse_event_filter(const boost::json::object& o) {
  EventFilter f;
  f.types = opt_list(o, "types");
  f.not_types = string_list(o, "not_types");
  f.senders = opt_list(o, "senders");
  f.not_senders = string_list(o, "not_senders");
  for (auto key : {"senders", "not_senders"}) id_list(o, key, is_valid_user_id);
  // A RoomEventFilter's own room lists (the room filter's apply to every part): checked, as clients send them.
  for (auto key : {"rooms", "not_rooms"}) id_list(o, key, is_valid_room_id);
  if (auto* l = o.if_contains("limit"); l && !l->is_null()) {
    if (!l->is_int64() || l->get_int64() < 0) throw invalid("M_BAD_JSON", "filter limit must be a non-negative integer");
    f.limit = static_cast<std::size_t>(std::min<std::int64_t>(l->get_int64(), 1000));
  }
  f.lazy_load_members = get_bool(o, "lazy_load_members");
  f.unread_thread_notifications = get_bool(o, "unread_thread_notifications");
  f.include_redundant_members = get_bool(o, "include_redundant_members");
  return f;
}

SyncFilter parse_sync_filter(const boost::json::object& o) {
  SyncFilter f;
  const auto& room = sub_object(o, "room");
  f.rooms = opt_list(room, "rooms");
  f.not_rooms = string_list(room, "not_rooms");
  for (auto key : {"rooms", "not_rooms"}) id_list(room, key, is_valid_room_id);
  f.include_leave = get_bool(room, "include_leave");
  f.timeline = parse_event_filter(sub_object(room, "timeline"));
  f.state = parse_event_filter(sub_object(room, "state"));
  f.ephemeral = parse_event_filter(sub_object(room, "ephemeral"));
  f.room_account_data = parse_event_filter(sub_object(room, "account_data"));
  f.account_data = parse_event_filter(sub_object(o, "account_data"));
  f.presence = parse_event_filter(sub_object(o, "presence"));
  return f;
}

std::string Filters::store(store::WriteUnit&, const std::string& user_id, const std::string& json_text) {
  std::int64_t next = 0;
  {
    auto st = db_.conn().prepare("SELECT coalesce(max(filter_id) + 1, 0) FROM filters WHERE user_id = ?");
    st.bind_all(user_id);
    if (st.step()) next = st.int64(0);
  }
  auto st = db_.conn().prepare("INSERT INTO filters (user_id, filter_id, json) VALUES (?, ?, ?)");
  st.bind_all(user_id, next, json_text);
  st.run();
  return std::to_string(next);
}

std::optional<std::string> Filters::load(const std::string& user_id, const std::string& filter_id) {
  if (filter_id.empty() || filter_id.size() > 18 ||
      !std::all_of(filter_id.begin(), filter_id.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  auto st = db_.conn().prepare("SELECT json FROM filters WHERE user_id = ? AND filter_id = ?");
  st.bind_all(user_id, std::stoll(filter_id));
  if (!st.step()) return std::nullopt;
  return st.text(0);
}

}  // namespace lotse::core
