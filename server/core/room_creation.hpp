// createRoom: the initial events of a new room, per the spec's order and presets.
#pragma once
#include <boost/json.hpp>
#include <string>

#include "server/core/room_aliases.hpp"
#include "server/core/rooms.hpp"

namespace lotse::core {

// Validates the createRoom body and appends all initial events in one write unit.
// Returns the new room id. Throws CoreError for invalid requests. `room_alias_name` needs `aliases`.
std::string create_room(Rooms& rooms, store::WriteUnit& unit, const std::string& creator,
                        const boost::json::object& request, RoomAliases* aliases = nullptr);

}  // namespace lotse::core
