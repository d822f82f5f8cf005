// Room aliases: the grammar and the alias table (schemas/0010_room_aliases.sql); the published room
// directory (schemas/0011_room_directory.sql).
#include "server/core/room_aliases.hpp"

#include <chrono>

namespace lotse::core {

bool RoomAliases::valid(const std::string& alias) {
  if (alias.size() < 4 || alias.size() > 255 || alias[0] != '#') return false;
  auto colon = alias.find(':');
  if (colon == std::string::npos || colon == 1 || colon + 1 >= alias.size()) return false;
  if (alias.find('\0') != std::string::npos) return false;
  return true;
}

bool RoomAliases::local(const std::string& alias) const {
  return valid(alias) && alias.compare(alias.find(':') + 1, std::string::npos, server_name_) == 0;
}

std::optional<RoomAlias> RoomAliases::find(const std::string& alias) {
  auto st = db_.conn().prepare("SELECT alias, room_id, creator FROM room_aliases WHERE alias = ?");
  st.bind_all(alias);
  if (!st.step()) return std::nullopt;
  return RoomAlias{st.text(0), st.text(1), st.text(2)};
}

std::vector<std::string> RoomAliases::of_room(const std::string& room_id) {
  std::vector<std::string> out;
  auto st = db_.conn().prepare("SELECT alias FROM room_aliases WHERE room_id = ? ORDER BY alias");
  st.bind_all(room_id);
  while (st.step()) out.push_back(st.text(0));
  return out;
}

void RoomAliases::create(store::WriteUnit&, const std::string& alias, const std::string& room_id,
                         const std::string& creator) {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto st = db_.conn().prepare("INSERT INTO room_aliases (alias, room_id, creator, created_ts) VALUES (?, ?, ?, ?)");
  st.bind_all(alias, room_id, creator, static_cast<std::int64_t>(now));
  st.run();
}

void RoomAliases::remove(store::WriteUnit&, const std::string& alias) {
  auto st = db_.conn().prepare("DELETE FROM room_aliases WHERE alias = ?");
  st.bind_all(alias);
  st.run();
}

bool RoomAliases::published(const std::string& room_id) {
  auto st = db_.conn().prepare("SELECT 1 FROM room_directory WHERE room_id = ?");
  st.bind_all(room_id);
  return st.step();
}

void RoomAliases::set_published(store::WriteUnit&, const std::string& room_id, bool published) {
  if (published) {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto st = db_.conn().prepare("INSERT OR IGNORE INTO room_directory (room_id, published_ts) VALUES (?, ?)");
    st.bind_all(room_id, static_cast<std::int64_t>(now));
    st.run();
  } else {
    auto st = db_.conn().prepare("DELETE FROM room_directory WHERE room_id = ?");
    st.bind_all(room_id);
    st.run();
  }
}

std::vector<std::string> RoomAliases::published_rooms() {
  std::vector<std::string> out;
  auto st = db_.conn().prepare("SELECT room_id FROM room_directory ORDER BY room_id");
  while (st.step()) out.push_back(st.text(0));
  return out;
}

}  // namespace lotse::core
