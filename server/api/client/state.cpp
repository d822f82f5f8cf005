// Room state and members (client-server API "Room state", "Room membership" lists).
#include <algorithm>
#include <vector>

#include "server/api/common.hpp"
#include "server/core/client_events.hpp"

namespace lotse::api {
namespace {

// The state visible to the user: current state when joined, else the state when they left.
std::vector<core::StoredEvent> visible_state(Homeserver& hs, const core::RoomInfo& room, const std::string& user_id) {
  auto current = hs.rooms.membership(room.room_id, user_id);
  if (current == "join") return hs.rooms.current_state(room.room_id);
  auto history = hs.rooms.membership_history(room.room_id, user_id);
  std::optional<std::int64_t> left_at;
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    if (it->second == "join") break;
    left_at = it->first;
  }
  bool was_joined = false;
  for (auto& [s, m] : history) was_joined = was_joined || m == "join";
  if (!was_joined || !left_at) throw http::forbidden("You are not a member of this room.");
  return hs.rooms.state_at(room.room_id, *left_at);
}

// m.room.canonical_alias: every alias it adds (alias, alt_aliases) is well-formed and points to this
// room (400 M_INVALID_PARAM or M_BAD_ALIAS); those already in the current event are not checked again.
void check_canonical_alias(Homeserver& hs, const std::string& room_id, const boost::json::object& content) {
  std::vector<std::string> before;
  if (auto old = hs.rooms.state_content(room_id, "m.room.canonical_alias", "")) {
    if (auto* a = old->if_contains("alias"); a && a->is_string()) before.emplace_back(a->get_string());
    if (auto* alt = old->if_contains("alt_aliases"); alt && alt->is_array())
      for (const auto& v : alt->get_array()) if (v.is_string()) before.emplace_back(v.get_string());
  }
  std::vector<std::string> added;
  if (auto* a = content.if_contains("alias"); a && !a->is_null()) {
    if (!a->is_string()) throw http::invalid_param("alias must be a string");
    added.emplace_back(a->get_string());
  }
  if (auto* alt = content.if_contains("alt_aliases"); alt && !alt->is_null()) {
    if (!alt->is_array()) throw http::invalid_param("alt_aliases must be a list of aliases");
    for (const auto& v : alt->get_array()) {
      if (!v.is_string()) throw http::invalid_param("alt_aliases must be a list of aliases");
      added.emplace_back(v.get_string());
    }
  }
  for (const auto& alias : added) {
    if (std::find(before.begin(), before.end(), alias) != before.end()) continue;
    if (!core::RoomAliases::valid(alias)) throw http::invalid_param("Not a room alias: " + alias);
    auto found = hs.room_aliases.find(alias);
    if (!found || found->room_id != room_id)
      throw MatrixError(400, "M_BAD_ALIAS", "The alias " + alias + " does not point to this room.");
  }
}

awaitable<Response> put_state(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto room = require_room(hs, r.param("roomId"));
  const auto& type = r.param("eventType");
  std::string state_key = r.params.count("stateKey") ? r.param("stateKey") : "";
  const auto& content = r.json_object();
  if (type == "m.room.create") throw http::forbidden("The create event cannot be replaced.");
  if (type == "m.room.member") {
    // Allowed (clients set per-room display names this way); the auth rules decide, but only
    // existing local users can be invited.
    auto m = opt_string(content, "membership");
    if (!m) throw http::missing_param("missing 'membership'");
    if (*m == "invite" && !hs.accounts.user_exists(state_key)) throw http::not_found("Unknown user " + state_key);
    if (*m == "invite") hs.policy.check_invite(room.room_id, auth.user_id, state_key);
    if (*m == "join") hs.policy.check_join(room.room_id, auth.user_id);
    if (*m != "invite" && *m != "join") hs.policy.check_remove(room.room_id, auth.user_id, state_key);
  }
  if (type == "m.room.encryption") {
    // Once encrypted, always encrypted with the same algorithm (rotation settings may change).
    auto old = hs.rooms.state_content(room.room_id, type, state_key);
    if (old && (!content.contains("algorithm") || !old->contains("algorithm") || content.at("algorithm") != old->at("algorithm")))
      throw http::forbidden("The encryption algorithm of a room cannot be changed once enabled.");
  }
  if (type == "m.room.canonical_alias" && state_key.empty()) check_canonical_alias(hs, room.room_id, content);
  // The same state again from the same sender changes nothing: no new event (as Synapse does).
  if (type != "m.room.member")
    if (auto current = hs.rooms.state_event(room.room_id, type, state_key);
        current && current->sender == auth.user_id && !current->redacted_by && current->content() == content)
      co_return Response::json({{"event_id", current->event_id}});
  check_rate(hs, hs.message_limiter, auth.user_id);
  std::string event_id;
  {
    store::WriteUnit unit(hs.db);
    event_id = hs.rooms.append(unit, room, auth.user_id, type, content, state_key).event_id;
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json({{"event_id", event_id}});
}

awaitable<Response> get_state_event(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto room = require_room(hs, r.param("roomId"));
  std::string state_key = r.params.count("stateKey") ? r.param("stateKey") : "";
  for (const auto& e : visible_state(hs, room, auth.user_id)) {
    if (e.type != r.param("eventType") || e.state_key != state_key) continue;
    if (r.query_param("format") == "event")
      co_return Response::json(core::client_event(hs.rooms, e, core::Viewer{auth.user_id, auth.device_id}));
    co_return Response::json(e.content());
  }
  throw http::not_found("Event not found.");
}

awaitable<Response> get_state(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto room = require_room(hs, r.param("roomId"));
  boost::json::array out;
  for (const auto& e : visible_state(hs, room, auth.user_id))
    out.push_back(core::client_event(hs.rooms, e, core::Viewer{auth.user_id, auth.device_id}));
  co_return Response::json(out);
}

awaitable<Response> get_members(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto room = require_room(hs, r.param("roomId"));
  auto membership = r.query_param("membership");
  auto not_membership = r.query_param("not_membership");
  boost::json::array chunk;
  for (const auto& e : visible_state(hs, room, auth.user_id)) {
    if (e.type != "m.room.member") continue;
    auto m = e.membership.value_or("leave");
    if (membership && m != *membership) continue;
    if (not_membership && m == *not_membership) continue;
    chunk.push_back(core::client_event(hs.rooms, e, core::Viewer{auth.user_id, auth.device_id}));
  }
  co_return Response::json({{"chunk", std::move(chunk)}});
}

awaitable<Response> get_joined_members(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto room = require_room(hs, r.param("roomId"));
  require_joined(hs, room.room_id, auth.user_id);
  boost::json::object joined;
  for (const auto& e : hs.rooms.current_state(room.room_id)) {
    if (e.type != "m.room.member" || e.membership != "join") continue;
    auto c = e.content();
    boost::json::object info;
    info["display_name"] = c.contains("displayname") ? c["displayname"] : boost::json::value(nullptr);
    info["avatar_url"] = c.contains("avatar_url") ? c["avatar_url"] : boost::json::value(nullptr);
    joined[*e.state_key] = std::move(info);
  }
  co_return Response::json({{"joined", std::move(joined)}});
}

}  // namespace

void register_state_routes(http::Router& router, Homeserver& hs) {
  client_route(router, verb::put, "/rooms/{roomId}/state/{eventType}/{stateKey}", [&hs](Request& r) { return put_state(hs, r); });
  client_route(router, verb::put, "/rooms/{roomId}/state/{eventType}", [&hs](Request& r) { return put_state(hs, r); });
  client_route(router, verb::get, "/rooms/{roomId}/state/{eventType}/{stateKey}",
               [&hs](Request& r) { return get_state_event(hs, r); });
  client_route(router, verb::get, "/rooms/{roomId}/state/{eventType}", [&hs](Request& r) { return get_state_event(hs, r); });
  client_route(router, verb::get, "/rooms/{roomId}/state", [&hs](Request& r) { return get_state(hs, r); });
  client_route(router, verb::get, "/rooms/{roomId}/members", [&hs](Request& r) { return get_members(hs, r); });
  client_route(router, verb::get, "/rooms/{roomId}/joined_members", [&hs](Request& r) { return get_joined_members(hs, r); });
}

}  // namespace lotse::api
