// Sending and reading events (client-server API "Sending events", "Redactions", "Getting events").
#include "server/api/common.hpp"
#include "server/core/client_events.hpp"

namespace lotse::api {
namespace {

core::Viewer viewer_of(const http::Auth& a) { return core::Viewer{a.user_id, a.device_id}; }

void check_txn_id(const std::string& txn) {
  if (txn.empty() || txn.size() > 255) throw http::invalid_param("transaction id must be 1 to 255 bytes");
}

// PUT with a transaction ID (idempotent); POST without one, as the API before r0 had it (sytest
// still uses it): each POST is a new event.
awaitable<Response> put_send(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto room = require_room(hs, r.param("roomId"));
  const auto& type = r.param("eventType");
  std::optional<core::Transaction> txn;
  if (r.params.count("txnId")) {
    check_txn_id(r.param("txnId"));
    txn = core::Transaction{auth.user_id, auth.device_id, r.param("txnId")};
    if (auto existing = hs.rooms.transaction_event(*txn)) co_return Response::json({{"event_id", *existing}});
  }
  const auto& content = r.json_object();
  check_rate(hs, hs.message_limiter, auth.user_id);
  if (type == "m.room.redaction") throw http::invalid_param("use the /redact endpoint to redact events");
  std::string event_id;
  {
    store::WriteUnit unit(hs.db);
    event_id = hs.rooms.append(unit, room, auth.user_id, type, content, std::nullopt, txn).event_id;
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json({{"event_id", event_id}});
}

awaitable<Response> put_redact(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto room = require_room(hs, r.param("roomId"));
  const auto& target_id = r.param("eventId");
  check_txn_id(r.param("txnId"));
  core::Transaction txn{auth.user_id, auth.device_id, r.param("txnId")};
  if (auto existing = hs.rooms.transaction_event(txn)) co_return Response::json({{"event_id", *existing}});
  const auto& body = r.json_object();
  auto reason = opt_string(body, "reason");
  require_joined(hs, room.room_id, auth.user_id);
  auto target = hs.rooms.event(target_id);
  if (!target || target->room_id != room.room_id) throw http::not_found("Unknown event " + target_id);
  // Redacting someone else's event needs the room's `redact` level.
  auto state = hs.rooms.lookup_for(room.room_id);
  if (target->sender != auth.user_id &&
      core::user_power_level(state, auth.user_id, room.version, room.creator) < core::named_power_level(state, "redact"))
    throw http::forbidden("Your power level is too low to redact other users' events.");
  boost::json::object content;
  if (reason) content["reason"] = *reason;
  content["redacts"] = target_id;
  std::string event_id;
  {
    store::WriteUnit unit(hs.db);
    auto redaction = hs.rooms.append(unit, room, auth.user_id, "m.room.redaction", content, std::nullopt, txn);
    hs.rooms.apply_redaction(unit, room, redaction, target_id);
    event_id = redaction.event_id;
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json({{"event_id", event_id}});
}

// The event if the user may see it, else M_NOT_FOUND (no hint that it exists).
core::StoredEvent visible_event(Homeserver& hs, const std::string& room_id, const std::string& event_id,
                                const std::string& user_id) {
  auto ev = hs.rooms.event(event_id);
  if (!ev || ev->room_id != room_id) throw http::not_found("Event not found.");
  core::VisibilityFilter vis(hs.rooms, room_id, user_id);
  if (!vis.can_see(*ev)) throw http::not_found("Event not found.");
  return *ev;
}

awaitable<Response> get_event(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto room = require_room(hs, r.param("roomId"));
  auto ev = visible_event(hs, room.room_id, r.param("eventId"), auth.user_id);
  co_return Response::json(core::client_event(hs.rooms, ev, viewer_of(auth)));
}

awaitable<Response> get_context(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto room = require_room(hs, r.param("roomId"));
  auto ev = visible_event(hs, room.room_id, r.param("eventId"), auth.user_id);
  auto limit = static_cast<std::size_t>(int_param(r, "limit", 10, 0, 100));
  core::VisibilityFilter vis(hs.rooms, room.room_id, auth.user_id);
  auto viewer = viewer_of(auth);
  std::size_t before_n = limit / 2, after_n = limit - before_n;
  boost::json::array before, after;
  std::int64_t start = ev.stream - 1, end = ev.stream;
  for (auto& e : hs.rooms.events_between(room.room_id, 0, ev.stream - 1, true, before_n)) {
    start = e.stream - 1;
    if (vis.can_see(e)) before.push_back(core::client_event(hs.rooms, e, viewer));
  }
  auto last = hs.rooms.last_stream(room.room_id).value_or(ev.stream);
  for (auto& e : hs.rooms.events_between(room.room_id, ev.stream, last, false, after_n)) {
    end = e.stream;
    if (vis.can_see(e)) after.push_back(core::client_event(hs.rooms, e, viewer));
  }
  boost::json::array state;
  for (auto& e : hs.rooms.state_at(room.room_id, end)) state.push_back(core::client_event(hs.rooms, e, viewer));
  co_return Response::json({{"event", core::client_event(hs.rooms, ev, viewer)},
                            {"events_before", std::move(before)},
                            {"events_after", std::move(after)},
                            {"start", core::SyncToken{start, hs.typing.serial()}.encode()},
                            {"end", core::SyncToken{end, hs.typing.serial()}.encode()},
                            {"state", std::move(state)}});
}

}  // namespace

void register_event_routes(http::Router& router, Homeserver& hs) {
  client_route(router, verb::put, "/rooms/{roomId}/send/{eventType}/{txnId}", [&hs](Request& r) { return put_send(hs, r); });
  client_route(router, verb::post, "/rooms/{roomId}/send/{eventType}", [&hs](Request& r) { return put_send(hs, r); });
  client_route(router, verb::put, "/rooms/{roomId}/redact/{eventId}/{txnId}", [&hs](Request& r) { return put_redact(hs, r); });
  client_route(router, verb::get, "/rooms/{roomId}/event/{eventId}", [&hs](Request& r) { return get_event(hs, r); });
  client_route(router, verb::get, "/rooms/{roomId}/context/{eventId}", [&hs](Request& r) { return get_context(hs, r); });
}

}  // namespace lotse::api
