// The deprecated sync endpoints of the API before r0, still in the spec (old_sync.yaml,
// room_initial_sync.yaml): GET /initialSync, GET /rooms/{roomId}/initialSync and the event stream
// GET /events. They show a user what /sync shows her (the same rooms, history visibility and
// ignored users), in the old shapes (events also name their sender as `user_id`, presence its user),
// and mark her online as /sync does; no modern client uses them, sytest still does.
#include <algorithm>
#include <chrono>
#include <climits>

#include "server/api/common.hpp"
#include "server/core/client_events.hpp"
#include "server/core/ignored_users.hpp"
#include "server/core/stored_json.hpp"

namespace lotse::api {
namespace {

using boost::json::array;
using boost::json::object;

constexpr std::int64_t kMaxTimeoutMs = 5 * 60 * 1000;

// The old client format: the sender also as `user_id`.
object old_event(Homeserver& hs, const core::StoredEvent& e, const http::Auth& auth) {
  auto out = core::client_event(hs.rooms, e, core::Viewer{auth.user_id, auth.device_id});
  out["user_id"] = e.sender;
  return out;
}

array old_presence(Homeserver& hs, const http::Auth& auth) {
  auto events = hs.presence.events_for(auth.user_id, std::nullopt, core::EventFilter{});
  for (auto& p : events) p.as_object()["content"].as_object()["user_id"] = p.as_object()["sender"];
  return events;
}

core::SyncToken token_at(Homeserver& hs, std::int64_t stream) {
  return core::SyncToken{stream, hs.typing.serial(), 0, hs.presence.serial()};
}

// The newest `limit` events she may see up to `ceiling`, oldest first, with pagination tokens.
object messages(Homeserver& hs, const http::Auth& auth, const std::string& room_id, std::int64_t ceiling, std::size_t limit) {
  core::VisibilityFilter vis(hs.rooms, room_id, auth.user_id);
  const auto ignored = core::ignored_users(hs.account_data, auth.user_id);
  array chunk;
  std::int64_t cursor = ceiling, start = ceiling;
  for (int batches = 0; chunk.size() < limit && cursor > 0 && batches < 50; ++batches) {
    auto batch = hs.rooms.events_between(room_id, 0, cursor, true, limit);
    if (batch.empty()) break;
    for (const auto& e : batch) {
      cursor = e.stream - 1;
      if (!vis.can_see(e) || core::hidden_by_ignore(ignored, e)) continue;
      chunk.push_back(old_event(hs, e, auth));
      start = e.stream - 1;
      if (chunk.size() >= limit) break;
    }
  }
  std::reverse(chunk.begin(), chunk.end());
  return {{"chunk", std::move(chunk)}, {"start", token_at(hs, start).encode()}, {"end", token_at(hs, ceiling).encode()}};
}

array room_account_data(Homeserver& hs, const std::string& user_id, const std::string& room_id) {
  array out;
  for (const auto& e : hs.account_data.changed_since(user_id, 0))
    if (e.room_id == room_id)
      if (auto content = core::read_stored_json(e.content_json, "account data", e.type))
        out.push_back(object{{"type", e.type}, {"content", std::move(*content)}});
  return out;
}

// One room as the old API showed it: the state and messages of when she left, for a room she left.
object room_info(Homeserver& hs, const http::Auth& auth, const std::string& room_id, const std::string& membership,
                 std::int64_t membership_stream, std::size_t limit) {
  object out{{"room_id", room_id}, {"membership", membership}};
  if (membership == "invite") {
    if (auto own = hs.rooms.state_event(room_id, "m.room.member", auth.user_id)) out["invite"] = old_event(hs, *own, auth);
    return out;
  }
  bool joined = membership == "join";
  std::int64_t ceiling = joined ? hs.rooms.last_stream(room_id).value_or(0) : membership_stream;
  out["messages"] = messages(hs, auth, room_id, ceiling, limit);
  array state;
  for (const auto& e : joined ? hs.rooms.current_state(room_id) : hs.rooms.state_at(room_id, ceiling))
    state.push_back(old_event(hs, e, auth));
  out["state"] = std::move(state);
  out["visibility"] = hs.room_aliases.published(room_id) ? "public" : "private";
  out["account_data"] = room_account_data(hs, auth.user_id, room_id);
  array receipts;
  if (joined)
    if (auto edu = hs.receipts.receipt_edu(room_id, 0, auth.user_id)) {  // {type: m.receipt, content}
      (*edu)["room_id"] = room_id;
      receipts.push_back(std::move(*edu));
    }
  out["receipts"] = std::move(receipts);
  return out;
}

array global_account_data(Homeserver& hs, const std::string& user_id) {
  array out;
  for (const auto& e : hs.account_data.changed_since(user_id, 0))
    if (e.room_id.empty() && e.type != "m.push_rules")  // the old API had /pushrules for them
      if (auto content = core::read_stored_json(e.content_json, "account data", e.type))
        out.push_back(object{{"type", e.type}, {"content", std::move(*content)}});
  return out;
}

awaitable<Response> get_initial_sync(Homeserver& hs, Request& r) {
  const auto& auth = require_auth(hs, r);
  auto limit = static_cast<std::size_t>(int_param(r, "limit", 10, 0, 100));
  bool archived = r.query_param("archived") == "true";
  hs.presence.synced(auth.user_id, "online");
  std::int64_t now = hs.db.current_stream_id();
  array rooms, receipts;
  for (const auto& room : hs.rooms.rooms_of(auth.user_id)) {
    bool left = room.membership == "leave" || room.membership == "ban";
    if (left && !archived) continue;
    auto info = room_info(hs, auth, room.room_id, room.membership, room.stream, limit);
    if (auto* rec = info.if_contains("receipts"))
      for (auto& e : rec->as_array()) receipts.push_back(std::move(e));
    info.erase("receipts");  // here they are one list for all rooms
    rooms.push_back(std::move(info));
  }
  co_return Response::json({{"end", token_at(hs, now).encode()},
                            {"rooms", std::move(rooms)},
                            {"presence", old_presence(hs, auth)},
                            {"receipts", std::move(receipts)},
                            {"account_data", global_account_data(hs, auth.user_id)}});
}

awaitable<Response> get_room_initial_sync(Homeserver& hs, Request& r) {
  const auto& auth = require_auth(hs, r);
  auto room = require_room(hs, r.param("roomId"));
  auto limit = static_cast<std::size_t>(int_param(r, "limit", 10, 0, 100));
  std::optional<core::Rooms::UserRoom> mine;
  for (const auto& ur : hs.rooms.rooms_of(auth.user_id, true))
    if (ur.room_id == room.room_id) mine = ur;
  if (!mine) throw http::forbidden("You are not a member of this room.");
  auto out = room_info(hs, auth, room.room_id, mine->membership, mine->stream, limit);
  array presence;  // of the room's members she may see (offline when unknown), while she is one
  if (mine->membership == "join")
    for (const auto& member : hs.rooms.joined_members(room.room_id))
      if (hs.presence.visible(auth.user_id, member)) {
        auto content = hs.presence.content(member);
        content["user_id"] = member;
        presence.push_back(object{{"type", "m.presence"}, {"sender", member}, {"content", std::move(content)}});
      }
  out["presence"] = std::move(presence);
  co_return Response::json(out);
}

// What happened for her after `from`: room events of her joined rooms (and her invites) and
// account data changes, oldest first.
// At most `limit` room events; `now` comes back lowered to the last one returned when there were more.
array events_since(Homeserver& hs, const http::Auth& auth, std::int64_t from, std::int64_t& now, std::size_t limit) {
  array chunk;
  const auto ignored = core::ignored_users(hs.account_data, auth.user_id);
  std::vector<core::StoredEvent> events;
  for (const auto& room : hs.rooms.rooms_of(auth.user_id)) {
    if (room.membership == "invite") {
      if (room.stream > from)
        if (auto own = hs.rooms.state_event(room.room_id, "m.room.member", auth.user_id)) events.push_back(*own);
      continue;
    }
    // A room she left shows events up to her leaving, none after.
    std::int64_t upto = room.membership == "join" ? now : std::min(now, room.stream);
    if (upto <= from) continue;
    core::VisibilityFilter vis(hs.rooms, room.room_id, auth.user_id);
    for (auto& e : hs.rooms.events_between(room.room_id, from, upto, false, 1000))
      if (vis.can_see(e) && !core::hidden_by_ignore(ignored, e)) events.push_back(std::move(e));
  }
  std::sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.stream < b.stream; });
  if (events.size() > limit) {
    events.resize(limit);
    now = limit ? events.back().stream : from;
    for (const auto& e : events) chunk.push_back(old_event(hs, e, auth));
    return chunk;  // the rest, account data included, with the next request
  }
  for (const auto& e : events) chunk.push_back(old_event(hs, e, auth));
  for (const auto& e : hs.account_data.changed_since(auth.user_id, from))
    if (auto content = core::read_stored_json(e.content_json, "account data", e.type)) {
      object ev{{"type", e.type}, {"content", std::move(*content)}};
      if (!e.room_id.empty()) ev["room_id"] = e.room_id;
      chunk.push_back(std::move(ev));
    }
  return chunk;
}

awaitable<Response> get_events(Homeserver& hs, Request& r) {
  const auto& auth = require_auth(hs, r);
  std::int64_t now = hs.db.current_stream_id();
  std::int64_t from = now;
  if (auto f = r.query_param("from"); f && !f->empty()) {
    auto t = core::SyncToken::parse(*f);
    if (!t) throw http::invalid_param("Invalid from token.");
    from = std::min(t->stream, now);
  }
  auto timeout = std::chrono::milliseconds(int_param(r, "timeout", 0, 0, kMaxTimeoutMs));
  auto wanted = int_param(r, "limit", 1000, INT64_MIN, INT64_MAX);
  if (wanted < 1) throw http::invalid_param("limit must be a positive integer");
  auto limit = static_cast<std::size_t>(std::min<std::int64_t>(wanted, 1000));
  hs.presence.synced(auth.user_id, "online");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto chunk = events_since(hs, auth, from, now, limit);
  while (chunk.empty() && !hs.stopping) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    co_await hs.notifier.wait(auth.user_id, left);
    now = hs.db.current_stream_id();
    chunk = events_since(hs, auth, from, now, limit);
  }
  co_return Response::json({{"start", token_at(hs, from).encode()}, {"end", token_at(hs, now).encode()}, {"chunk", std::move(chunk)}});
}

}  // namespace

void register_legacy_sync_routes(http::Router& router, Homeserver& hs) {
  client_route(router, verb::get, "/initialSync", [&hs](Request& r) { return get_initial_sync(hs, r); });
  client_route(router, verb::get, "/rooms/{roomId}/initialSync", [&hs](Request& r) { return get_room_initial_sync(hs, r); });
  client_route(router, verb::get, "/events", [&hs](Request& r) { return get_events(hs, r); });
}

}  // namespace lotse::api
