// Event format rules of room versions 1 to 11 (content/rooms/v*.md and their fragments). The PDU keeps
// one shape in every version (prev_events and auth_events as lists of IDs, v11's `redacts` in the
// content): no other server ever sees it, and clients get the client format.
#include "server/core/event_format.hpp"

#include <initializer_list>

#include "e2ee/canonical_json.hpp"

namespace lotse::core {

namespace {
constexpr std::string_view kVersionNames[] = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"};
}

bool parse_room_version(std::string_view s, RoomVersion& out) {
  for (int i = 0; i < 11; ++i)
    if (s == kVersionNames[i]) return out = static_cast<RoomVersion>(i + 1), true;
  return false;
}

std::string_view to_string(RoomVersion v) { return kVersionNames[number(v) - 1]; }

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
    if (auto* v = content.if_contains("membership")) kept["membership"] = *v;
    if (number(version) >= 9)
      if (auto* v = content.if_contains("join_authorised_via_users_server")) kept["join_authorised_via_users_server"] = *v;
    if (version == RoomVersion::v11) {
      if (auto* tpi = content.if_contains("third_party_invite"); tpi && tpi->is_object())
        if (auto* s = tpi->get_object().if_contains("signed")) kept["third_party_invite"] = boost::json::object{{"signed", *s}};
    }
    content = std::move(kept);
  } else if (type == "m.room.create") {
    if (version != RoomVersion::v11) keep_only(content, {"creator"});
  } else if (type == "m.room.join_rules") {
    if (number(version) >= 8) keep_only(content, {"join_rule", "allow"});
    else keep_only(content, {"join_rule"});
  } else if (type == "m.room.aliases" && number(version) <= 5) {
    keep_only(content, {"aliases"});
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

namespace {
std::string hash_id(std::string_view reference_hash, RoomVersion version) {
  return "$" + (version == RoomVersion::v3 ? e2ee::base64_encode(reference_hash) : e2ee::base64url_encode(reference_hash));
}
}  // namespace

std::string reference_event_id(const boost::json::object& event, RoomVersion version) {
  if (opaque_event_ids(version)) {
    auto* id = event.if_contains("event_id");
    return id && id->is_string() ? std::string(id->get_string()) : std::string();
  }
  boost::json::object redacted = redact(event, version);
  redacted.erase("signatures");
  redacted.erase("unsigned");
  return hash_id(e2ee::sha256(e2ee::canonical_json(redacted)), version);
}

std::string hash_sign_and_id(boost::json::object& event, RoomVersion version, std::string_view server_name,
                             const e2ee::SigningKey& key) {
  std::string opaque_id;
  if (opaque_event_ids(version)) {
    opaque_id = "$" + e2ee::random_token(18) + ":" + std::string(server_name);
    event["event_id"] = opaque_id;
  }
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
  return opaque_id.empty() ? hash_id(e2ee::sha256(bytes), version) : opaque_id;
}

}  // namespace lotse::core
