// Room-version rules for the event format: redaction algorithm, content hash, event IDs and server
// signatures (the spec's stable room versions 1 to 11; new rooms are v11).
#pragma once
#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "e2ee/crypto.hpp"

namespace lotse::core {

enum class RoomVersion : int { v1 = 1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11 };
inline constexpr RoomVersion kNewestRoomVersion = RoomVersion::v11;
inline constexpr int number(RoomVersion v) { return static_cast<int>(v); }

// "1" to "11" as the spec writes them; anything else is unsupported.
bool parse_room_version(std::string_view s, RoomVersion& out);
std::string_view to_string(RoomVersion v);

// Where the versions differ beyond the redaction algorithm (content/rooms/v*.md):
// m.room.create names its creator (v1-v10; v11 takes the sender).
inline constexpr bool create_has_creator(RoomVersion v) { return number(v) <= 10; }
// Event IDs are "$opaque:server" carried in the event (v1, v2), not its reference hash.
inline constexpr bool opaque_event_ids(RoomVersion v) { return number(v) <= 2; }
// The knock membership and join rule (v7+).
inline constexpr bool allows_knocking(RoomVersion v) { return number(v) >= 7; }

// The room version's redaction algorithm applied to a (federation-format) event.
boost::json::object redact(const boost::json::object& event, RoomVersion version);

// Fills `hashes.sha256`, adds this server's signature and returns the event ID: the reference hash
// (v3 in standard, v4+ in URL-safe base64) or, in v1 and v2, a new opaque ID put into the event.
std::string hash_sign_and_id(boost::json::object& event, RoomVersion version, std::string_view server_name,
                             const e2ee::SigningKey& key);

// The event ID of an already hashed event (its reference hash, or its event_id in v1 and v2).
std::string reference_event_id(const boost::json::object& event, RoomVersion version);

// Unpadded base64 SHA-256 over the event without unsigned, signatures and hashes.
std::string content_hash(const boost::json::object& event);

}  // namespace lotse::core
