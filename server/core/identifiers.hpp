// Matrix identifier grammar (appendices "Identifier Grammar"): user, room and event IDs.
#pragma once
#include <string>
#include <string_view>

namespace lotse::core {

// "@localpart:server" with a non-empty localpart and server, at most 255 bytes.
bool is_valid_user_id(std::string_view id);
// A localpart new users may register: [a-z0-9._=/+-], 1..255 bytes with the server name.
bool is_valid_new_localpart(std::string_view localpart);
bool is_valid_room_id(std::string_view id);
// The part after the first ':' (the server name), or empty.
std::string_view server_part(std::string_view id);
std::string_view localpart(std::string_view user_id);
// An opaque room ID on this server with 18 random bytes.
std::string new_room_id(std::string_view server_name);

}  // namespace lotse::core
