// Room upgrades (client-server API "Room Upgrades"): a replacement room of another version, linked
// both ways (m.room.tombstone in the old room, `predecessor` in the new room's m.room.create).
#pragma once
#include <string>

#include "server/core/account_data.hpp"
#include "server/core/accounts.hpp"
#include "server/core/room_aliases.hpp"
#include "server/core/rooms.hpp"

namespace lotse::core {

struct RoomUpgradeDeps {
  Rooms& rooms;
  RoomAliases& aliases;
  AccountData& account_data;
  Accounts& accounts;
};

// In one write unit, in this order: the tombstone in the old room (the upgrading user needs the
// power to send it, else CoreError forbidden, before anything is written); the new room with the
// old one's create content (its `type`, `m.federate`, ...), the old power levels (the upgrading user
// raised for as long as the copy needs it), the recommended state of the spec (name, topic, avatar,
// join rules, history visibility, guest access, encryption, server ACL) and the bans; the canonical
// alias, local aliases and the directory entry moved over; the old room's power levels restricted
// (events and invites need max(50, users_default + 1), where the user may set that); and for its
// joined members: an invite into the new room unless that is public, and their tags, m.direct entry
// and room push rules copied to the new room. Returns the new room's ID.
std::string upgrade_room(const RoomUpgradeDeps& deps, store::WriteUnit& unit, const RoomInfo& old_room,
                         const std::string& user_id, RoomVersion new_version);

}  // namespace lotse::core
