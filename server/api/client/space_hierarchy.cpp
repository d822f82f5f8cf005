// GET /_matrix/client/v1/rooms/{roomId}/hierarchy (client-server API "Spaces"): the space and the
// rooms below it that the user may see (joined, or joinable: public or invited), breadth first.
#include <deque>
#include <set>

#include "server/api/common.hpp"

namespace lotse::api {
namespace {

using boost::json::array;
using boost::json::object;

std::string state_string(Homeserver& hs, const std::string& room, const char* type, const char* key) {
  auto c = hs.rooms.state_content(room, type, "");
  if (!c) return {};
  auto* v = c->if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

bool visible_to(Homeserver& hs, const std::string& room, const std::string& user) {
  auto m = hs.rooms.membership(room, user);
  if (m == "join" || m == "invite") return true;
  if (state_string(hs, room, "m.room.join_rules", "join_rule") == "public") {
    try {
      hs.policy.check_join(room, user);
      return true;
    } catch (const core::CoreError&) {
      return false;
    }
  }
  return state_string(hs, room, "m.room.history_visibility", "history_visibility") == "world_readable";
}

awaitable<Response> get_hierarchy(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto root = require_room(hs, r.param("roomId"));
  if (!visible_to(hs, root.room_id, auth.user_id)) throw http::forbidden("You cannot see this space.");
  bool suggested_only = r.query_param("suggested_only") == "true";
  int max_depth = 10;
  if (auto d = r.query_param("max_depth")) max_depth = std::clamp(std::atoi(d->c_str()), 0, 10);
  std::size_t limit = 50, skip = 0;
  if (auto l = r.query_param("limit")) limit = static_cast<std::size_t>(std::clamp(std::atoi(l->c_str()), 1, 100));
  if (auto f = r.query_param("from")) skip = static_cast<std::size_t>(std::max(0, std::atoi(f->c_str())));

  array rooms;
  std::set<std::string> seen;
  std::deque<std::pair<std::string, int>> queue{{root.room_id, 0}};
  std::size_t index = 0;
  bool more = false;
  while (!queue.empty()) {
    auto [room_id, depth] = queue.front();
    queue.pop_front();
    if (!seen.insert(room_id).second || !hs.rooms.room(room_id) || !visible_to(hs, room_id, auth.user_id)) continue;
    array children_state;
    for (const auto& e : hs.rooms.current_state(room_id)) {
      if (e.type != "m.space.child") continue;
      auto c = e.content();
      if (!c.contains("via")) continue;  // a child without via was removed
      if (suggested_only && !(c.contains("suggested") && c["suggested"] == boost::json::value(true))) continue;
      children_state.push_back(object{{"type", e.type}, {"state_key", *e.state_key}, {"content", c},
                                      {"sender", e.sender}, {"origin_server_ts", e.origin_server_ts}});
      if (depth < max_depth) queue.emplace_back(*e.state_key, depth + 1);
    }
    if (index++ < skip) continue;
    if (rooms.size() >= limit) {
      more = true;
      break;
    }
    auto create = hs.rooms.state_content(room_id, "m.room.create", "").value_or(object{});
    object entry{{"room_id", room_id},
                 {"num_joined_members", static_cast<std::int64_t>(hs.rooms.joined_members(room_id).size())},
                 {"world_readable", state_string(hs, room_id, "m.room.history_visibility", "history_visibility") == "world_readable"},
                 {"guest_can_join", state_string(hs, room_id, "m.room.guest_access", "guest_access") == "can_join"},
                 {"join_rule", state_string(hs, room_id, "m.room.join_rules", "join_rule")},
                 {"children_state", std::move(children_state)}};
    for (auto [key, type, field] : {std::tuple{"name", "m.room.name", "name"}, std::tuple{"topic", "m.room.topic", "topic"},
                                    std::tuple{"avatar_url", "m.room.avatar", "url"},
                                    std::tuple{"canonical_alias", "m.room.canonical_alias", "alias"}})
      if (auto v = state_string(hs, room_id, type, field); !v.empty()) entry[key] = v;
    if (auto* t = create.if_contains("type"); t && t->is_string()) entry["room_type"] = *t;
    rooms.push_back(std::move(entry));
  }
  object out{{"rooms", std::move(rooms)}};
  if (more) out["next_batch"] = std::to_string(skip + limit);
  co_return Response::json(out);
}

}  // namespace

void register_space_hierarchy_routes(http::Router& router, Homeserver& hs) {
  raw_route(router, verb::get, "/_matrix/client/v1/rooms/{roomId}/hierarchy", [&hs](Request& r) { return get_hierarchy(hs, r); });
}

}  // namespace lotse::api
