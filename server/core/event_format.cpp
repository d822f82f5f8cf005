// Event format rules of room versions 10 and 11 (content/rooms/v10.md, v11.md and their fragments).
#include "server/core/event_format.hpp"

#include <initializer_list>

#include "e2ee/canonical_json.hpp"

namespace lotse::core {

bool parse_room_version(std::string_view s, RoomVersion& out) {
  if (s == "10") return out = RoomVersion::v10, true;
  if (s == "11") return out = RoomVersion::v11, true;
  return false;
}

std::string_view to_string(RoomVersion v) { return v == RoomVersion::v10 ? "10" : "11"; }

namespace {
void keep_only(boost::json::object& o, std::initializer_list<std::string_view> keys) {
  for (auto it = o.begin(); it != o.end();) {
    bool keep = false;
    for (auto k : keys) keep = keep || it->key() == k;
    it = keep ? std::next(it) : o.erase(it);
  }
}
}  // namespace

boost::json::object redact(const boost::json::object& event, RoomVersion version) {
  boost::json::object out = event;
  if (version == RoomVersion::v11) {
    keep_only(out, {"event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures", "depth",
                    "prev_events", "auth_events", "origin_server_ts"});
  } else {
    keep_only(out, {"event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures", "depth",
                    "prev_events", "prev_state", "auth_events", "origin", "origin_server_ts", "membership"});
  }
  boost::json::object content;
  if (auto* c = event.if_contains("content"); c && c->is_object()) content = c->get_object();
  std::string_view type;
  if (auto* t = event.if_contains("type"); t && t->is_string()) type = t->get_string();

  if (type == "m.room.member") {
    boost::json::object kept;
    for (auto k : {"membership", "join_authorised_via_users_server"})
      if (auto* v = content.if_contains(k)) kept[k] = *v;
    if (version == RoomVersion::v11) {
      if (auto* tpi = content.if_contains("third_party_invite"); tpi && tpi->is_object())
        if (auto* s = tpi->get_object().if_contains("signed")) kept["third_party_invite"] = boost::json::object{{"signed", *s}};
    }
    content = std::move(kept);
  } else if (type == "m.room.create") {
    if (version == RoomVersion::v10) keep_only(content, {"creator"});
  } else if (type == "m.room.join_rules") {
    keep_only(content, {"join_rule", "allow"});
  } else if (type == "m.room.power_levels") {
    if (version == RoomVersion::v11)
      keep_only(content, {"ban", "events", "events_default", "invite", "kick", "redact", "state_default", "users",
                          "users_default"});
    else
      keep_only(content,
                {"ban", "events", "events_default", "kick", "redact", "state_default", "users", "users_default"});
  } else if (type == "m.room.history_visibility") {
    keep_only(content, {"history_visibility"});
  } else if (type == "m.room.redaction" && version == RoomVersion::v11) {
    keep_only(content, {"redacts"});
  } else {
    content.clear();
  }
  out["content"] = std::move(content);
  return out;
}

std::string content_hash(const boost::json::object& event) {
  boost::json::object copy = event;
  copy.erase("unsigned");
  copy.erase("signatures");
  copy.erase("hashes");
  return e2ee::base64_encode(e2ee::sha256(e2ee::canonical_json(copy)));
}

std::string reference_event_id(const boost::json::object& event, RoomVersion version) {
  boost::json::object redacted = redact(event, version);
  redacted.erase("signatures");
  redacted.erase("unsigned");
  return "$" + e2ee::base64url_encode(e2ee::sha256(e2ee::canonical_json(redacted)));
}

std::string hash_sign_and_id(boost::json::object& event, RoomVersion version, std::string_view server_name,
                             const e2ee::SigningKey& key) {
  event["hashes"] = boost::json::object{{"sha256", content_hash(event)}};
  // The signing input and the reference hash input are the same bytes: the redacted event without
  // signatures and unsigned, as canonical JSON.
  boost::json::object redacted = redact(event, version);
  boost::json::value signatures = redacted.contains("signatures") ? redacted["signatures"] : boost::json::object{};
  redacted.erase("signatures");
  redacted.erase("unsigned");
  std::string bytes = e2ee::canonical_json(redacted);
  if (!signatures.is_object()) signatures = boost::json::object{};
  auto& mine = signatures.as_object()[server_name];
  if (!mine.is_object()) mine = boost::json::object{};
  mine.as_object()[key.key_id()] = key.sign(bytes);
  event["signatures"] = std::move(signatures);
  return "$" + e2ee::base64url_encode(e2ee::sha256(bytes));
}

}  // namespace lotse::core
