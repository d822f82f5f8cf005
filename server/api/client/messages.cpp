// Pagination of a room's timeline (client-server API "GET /rooms/{roomId}/messages").
#include "server/api/common.hpp"
#include "server/core/ignored_users.hpp"
#include "server/core/client_events.hpp"
#include "server/core/filters.hpp"

#include <set>

namespace lotse::api {
namespace {

std::int64_t parse_position(const std::string& token) {
  if (auto t = core::SyncToken::parse(token)) return t->stream;
  throw http::invalid_param("Invalid pagination token.");
}

awaitable<Response> get_messages(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto room = require_room(hs, r.param("roomId"));
  auto membership = hs.rooms.membership(room.room_id, auth.user_id);
  auto history = hs.rooms.membership_history(room.room_id, auth.user_id);
  if (history.empty()) throw http::forbidden("You are not a member of this room.");

  std::string dir = r.query_param("dir").value_or("b");
  if (dir != "b" && dir != "f") throw http::invalid_param("dir must be b or f");
  bool backwards = dir == "b";
  auto limit = static_cast<std::size_t>(int_param(r, "limit", 10, 1, 1000));
  core::EventFilter filter;
  if (auto f = r.query_param("filter")) {
    filter = core::parse_event_filter(parse_filter_param(*f));
  }
  // A user who left sees nothing after leaving.
  std::int64_t ceiling = hs.rooms.last_stream(room.room_id).value_or(0);
  if (membership != "join" && !history.empty()) ceiling = std::min(ceiling, history.back().first);

  std::int64_t from = backwards ? ceiling : 0;
  if (auto f = r.query_param("from")) from = std::min(parse_position(*f), ceiling);
  std::optional<std::int64_t> to;
  if (auto t = r.query_param("to")) to = parse_position(*t);

  core::VisibilityFilter vis(hs.rooms, room.room_id, auth.user_id);
  core::Viewer viewer{auth.user_id, auth.device_id};
  const auto ignored = core::ignored_users(hs.account_data, auth.user_id);
  boost::json::array chunk;
  std::set<std::string> senders;
  std::int64_t cursor = from;
  bool more = true;
  std::size_t scanned_batches = 0;
  while (chunk.size() < limit && more && scanned_batches < 50) {
    ++scanned_batches;
    std::vector<core::StoredEvent> batch;
    if (backwards) {
      std::int64_t lower = to ? *to : 0;
      batch = hs.rooms.events_between(room.room_id, lower, cursor, true, limit);
    } else {
      std::int64_t upper = to ? std::min(*to, ceiling) : ceiling;
      batch = hs.rooms.events_between(room.room_id, cursor, upper, false, limit);
    }
    if (batch.size() < limit) more = false;
    for (auto& e : batch) {
      cursor = backwards ? e.stream - 1 : e.stream;
      if (!vis.can_see(e) || !filter.matches(e.type, e.sender) || core::hidden_by_ignore(ignored, e)) continue;
      senders.insert(e.sender);
      chunk.push_back(core::client_event(hs.rooms, e, viewer));
      if (chunk.size() >= limit) break;
    }
  }
  if (cursor <= 0 && backwards) more = false;

  boost::json::object out{{"chunk", std::move(chunk)}, {"start", core::SyncToken{from, hs.typing.serial()}.encode()}};
  if (more) out["end"] = core::SyncToken{cursor, hs.typing.serial()}.encode();
  if (filter.lazy_load_members) {
    boost::json::array state;
    for (const auto& s : senders)
      if (auto m = hs.rooms.state_event(room.room_id, "m.room.member", s))
        state.push_back(core::client_event(hs.rooms, *m, viewer));
    out["state"] = std::move(state);
  }
  co_return Response::json(out);
}

}  // namespace

void register_message_routes(http::Router& router, Homeserver& hs) {
  client_route(router, verb::get, "/rooms/{roomId}/messages", [&hs](Request& r) { return get_messages(hs, r); });
}

}  // namespace lotse::api
