// Room aliases (client-server API "Room aliases"): #localpart:server_name pointing to a room of this
// server. Only local aliases exist (no federation); the grammar is checked here. And the published
// room directory (which rooms GET /publicRooms lists).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "server/store/database.hpp"

namespace lotse::core {

struct RoomAlias {
  std::string alias;
  std::string room_id;
  std::string creator;
};

class RoomAliases {
 public:
  RoomAliases(store::Database& db, std::string server_name) : db_(db), server_name_(std::move(server_name)) {}

  // "#localpart:server" with a localpart of 1 or more characters, none of them ':' or NUL, at most
  // 255 bytes in all (appendices "Room Aliases").
  static bool valid(const std::string& alias);
  // A valid alias of this server.
  bool local(const std::string& alias) const;
  std::string make(const std::string& localpart) const { return "#" + localpart + ":" + server_name_; }

  std::optional<RoomAlias> find(const std::string& alias);
  std::vector<std::string> of_room(const std::string& room_id);
  // The caller checks first that the alias is free (find).
  void create(store::WriteUnit& unit, const std::string& alias, const std::string& room_id, const std::string& creator);
  void remove(store::WriteUnit& unit, const std::string& alias);

  // The published room directory (schemas/0011_room_directory.sql), beside the aliases.
  bool published(const std::string& room_id);
  void set_published(store::WriteUnit& unit, const std::string& room_id, bool published);
  std::vector<std::string> published_rooms();

 private:
  store::Database& db_;
  std::string server_name_;
};

}  // namespace lotse::core
