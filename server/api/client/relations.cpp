// Relations and threads (client-server API "Relationships", "Threading"): /v1 relations and threads.
#include "server/api/common.hpp"
#include "server/core/client_events.hpp"

namespace lotse::api {
namespace {

std::optional<std::int64_t> position_param(const Request& r, const char* name) {
  auto v = r.query_param(name);
  if (!v) return std::nullopt;
  auto t = core::SyncToken::parse(*v);
  if (!t) throw http::invalid_param(std::string("invalid ") + name + " token");
  return t->stream;
}

awaitable<Response> get_relations(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto room = require_room(hs, r.param("roomId"));
  core::VisibilityFilter vis(hs.rooms, room.room_id, auth.user_id);
  auto parent = hs.rooms.event(r.param("eventId"));
  if (!parent || parent->room_id != room.room_id || !vis.can_see(*parent)) throw http::not_found("Event not found.");
  std::optional<std::string> rel_type, event_type;
  if (r.params.count("relType")) rel_type = r.param("relType");
  if (r.params.count("eventType")) event_type = r.param("eventType");
  bool backwards = r.query_param("dir").value_or("b") != "f";
  auto limit = static_cast<std::size_t>(int_param(r, "limit", 50, 1, 1000));
  std::int64_t latest = hs.rooms.last_stream(room.room_id).value_or(0);
  auto from = position_param(r, "from");
  auto to = position_param(r, "to");
  std::int64_t lower = backwards ? to.value_or(0) : from.value_or(0);
  std::int64_t upper = backwards ? from.value_or(latest) : to.value_or(latest);
  auto children = hs.rooms.relations(parent->event_id, rel_type, event_type, lower, upper, backwards, limit + 1);
  bool more = children.size() > limit;
  if (more) children.resize(limit);
  boost::json::array chunk;
  core::Viewer viewer{auth.user_id, auth.device_id};
  for (const auto& e : children)
    if (vis.can_see(e)) chunk.push_back(core::client_event(hs.rooms, e, viewer));
  boost::json::object out{{"chunk", std::move(chunk)}};
  if (more && !children.empty()) {
    std::int64_t next = backwards ? children.back().stream - 1 : children.back().stream;
    out["next_batch"] = core::SyncToken{next, 0}.encode();
  }
  co_return Response::json(out);
}

awaitable<Response> get_threads(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto room = require_room(hs, r.param("roomId"));
  if (hs.rooms.membership_history(room.room_id, auth.user_id).empty())
    throw http::forbidden("You are not a member of this room.");
  auto include = r.query_param("include").value_or("all");
  if (include != "all" && include != "participated") throw http::invalid_param("include must be all or participated");
  auto limit = static_cast<std::size_t>(int_param(r, "limit", 20, 1, 1000));
  std::int64_t before = position_param(r, "from").value_or(hs.rooms.last_stream(room.room_id).value_or(0) + 1);
  std::optional<std::string> participant;
  if (include == "participated") participant = auth.user_id;
  auto roots = hs.rooms.threads(room.room_id, before, limit + 1, participant);
  bool more = roots.size() > limit;
  if (more) roots.resize(limit);
  core::VisibilityFilter vis(hs.rooms, room.room_id, auth.user_id);
  core::Viewer viewer{auth.user_id, auth.device_id};
  boost::json::array chunk;
  for (const auto& t : roots)
    if (auto e = hs.rooms.event(t.root_id); e && vis.can_see(*e)) chunk.push_back(core::client_event(hs.rooms, *e, viewer));
  boost::json::object out{{"chunk", std::move(chunk)}};
  if (more && !roots.empty()) out["next_batch"] = core::SyncToken{roots.back().latest_stream, 0}.encode();
  co_return Response::json(out);
}

}  // namespace

void register_relation_routes(http::Router& router, Homeserver& hs) {
  for (auto* suffix : {"", "/{relType}", "/{relType}/{eventType}"})
    raw_route(router, verb::get, std::string("/_matrix/client/v1/rooms/{roomId}/relations/{eventId}") + suffix,
              [&hs](Request& r) { return get_relations(hs, r); });
  raw_route(router, verb::get, "/_matrix/client/v1/rooms/{roomId}/threads", [&hs](Request& r) { return get_threads(hs, r); });
}

}  // namespace lotse::api
