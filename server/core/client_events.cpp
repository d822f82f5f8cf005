// Client event format and history visibility.
#include "server/core/client_events.hpp"

#include "server/core/stored_json.hpp"

#include <chrono>

namespace lotse::core {

boost::json::object client_event(Rooms& rooms, const StoredEvent& event, const std::optional<Viewer>& viewer,
                                 bool with_room_id, bool bundle_threads) {
  // An event stored before the JSON limits existed may be unreadable: it goes out as an empty-content
  // stand-in (so ordering and pagination stay intact) and the log names it.
  boost::json::object pdu = read_stored_object(event.json, "event", event.event_id)
                                .value_or(boost::json::object{{"content", boost::json::object{}},
                                                              {"type", event.type},
                                                              {"sender", event.sender},
                                                              {"origin_server_ts", event.origin_server_ts}});
  if (event.state_key && !pdu.contains("state_key")) pdu["state_key"] = *event.state_key;
  boost::json::object out;
  for (auto key : {"content", "type", "sender", "origin_server_ts", "state_key", "redacts"})
    if (auto* v = pdu.if_contains(key)) out[key] = *v;
  out["event_id"] = event.event_id;
  if (with_room_id) out["room_id"] = event.room_id;
  // v11 moved `redacts` into content; clients still read the top-level key.
  if (event.type == "m.room.redaction" && !out.contains("redacts"))
    if (auto* c = out["content"].as_object().if_contains("redacts")) out["redacts"] = *c;

  boost::json::object unsigned_;
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                 .count();
  unsigned_["age"] = std::max<std::int64_t>(0, now - event.origin_server_ts);
  if (viewer && event.txn_user && event.txn_device && *event.txn_user == viewer->user_id &&
      *event.txn_device == viewer->device_id)
    unsigned_["transaction_id"] = *event.txn_id;
  if (event.prev_state_event_id) {
    if (auto prev = rooms.event(*event.prev_state_event_id)) {
      unsigned_["prev_content"] = prev->content();
      unsigned_["prev_sender"] = prev->sender;
      unsigned_["replaces_state"] = prev->event_id;
    }
  }
  if (event.redacted_by) {
    if (auto r = rooms.event(*event.redacted_by)) unsigned_["redacted_because"] = client_event(rooms, *r, viewer, with_room_id);
  } else if (viewer && bundle_threads) {
    // Bundled aggregation for thread roots (client-server API "Threading").
    if (auto summary = rooms.thread_summary(event.event_id, viewer->user_id))
      if (auto latest = rooms.event(summary->latest_event_id))
        unsigned_["m.relations"] = {{"m.thread",
                                     {{"latest_event", client_event(rooms, *latest, viewer, with_room_id, false)},
                                      {"count", summary->count},
                                      {"current_user_participated", summary->participated}}}};
  }
  out["unsigned"] = std::move(unsigned_);
  return out;
}

boost::json::object stripped_state_event(const StoredEvent& event) {
  return {{"type", event.type},
          {"state_key", event.state_key.value_or("")},
          {"content", event.content()},
          {"sender", event.sender}};
}

VisibilityFilter::VisibilityFilter(Rooms& rooms, const std::string& room_id, const std::string& user_id)
    : user_id_(user_id), history_(rooms.membership_history(room_id, user_id)) {
  currently_joined_ = !history_.empty() && history_.back().second == "join";
}

bool VisibilityFilter::can_see(const StoredEvent& event) const {
  if (event.history_visibility == "world_readable") return true;
  if (event.type == "m.room.member" && event.state_key == user_id_) return true;  // one's own membership
  std::string membership_at = "leave";
  for (const auto& [stream, m] : history_) {
    if (stream > event.stream) break;
    membership_at = m;
  }
  if (membership_at == "join") return true;
  if (event.history_visibility == "shared" && currently_joined_) return true;
  if (event.history_visibility == "invited" && membership_at == "invite") return true;
  return false;
}

}  // namespace lotse::core
