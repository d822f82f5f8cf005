// Authorisation rules of room versions 10 and 11 (content/rooms/v11.md "Authorization rules") and the
// power-level helpers they need. One server means the state before an event is simply the room's
// current state, so rules are checked against a lookup into that state.
#pragma once
#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "server/core/event_format.hpp"

namespace lotse::core {

// Returns the content of the current state event (type, state_key), or nullptr.
using StateLookup = std::function<const boost::json::object*(std::string_view type, std::string_view state_key)>;

// The membership of `user_id` ("join", "invite", "leave", "ban", "knock"), "leave" when none.
std::string membership_of(const StateLookup& state, std::string_view user_id);
std::int64_t user_power_level(const StateLookup& state, std::string_view user_id, RoomVersion version,
                              std::string_view creator);
std::int64_t event_power_level(const StateLookup& state, std::string_view type, bool is_state);
// A named level from the power levels ("invite", "kick", "ban", "redact") with the spec's defaults.
std::int64_t named_power_level(const StateLookup& state, std::string_view name);

// Checks an event (federation format, before hashing) against the auth rules. `creator` is the
// room creator (sender of m.room.create). Returns the reason for rejection, or nullopt if allowed.
std::optional<std::string> check_auth_rules(const boost::json::object& event, const StateLookup& state,
                                            RoomVersion version, std::string_view creator);

}  // namespace lotse::core
