// Room-version rules for the event format: redaction algorithm, content hash, reference-hash event
// IDs and server signatures (room versions 10 and 11).
#pragma once
#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "e2ee/crypto.hpp"

namespace lotse::core {

enum class RoomVersion { v10, v11 };

// "10" / "11"; anything else is unsupported.
bool parse_room_version(std::string_view s, RoomVersion& out);
std::string_view to_string(RoomVersion v);

// The room version's redaction algorithm applied to a (federation-format) event.
boost::json::object redact(const boost::json::object& event, RoomVersion version);

// Fills `hashes.sha256`, adds this server's signature and returns the reference-hash event ID.
std::string hash_sign_and_id(boost::json::object& event, RoomVersion version, std::string_view server_name,
                             const e2ee::SigningKey& key);

// The reference hash event ID of an already hashed event.
std::string reference_event_id(const boost::json::object& event, RoomVersion version);

// Unpadded base64 SHA-256 over the event without unsigned, signatures and hashes.
std::string content_hash(const boost::json::object& event);

}  // namespace lotse::core
