// Receipts, read markers and typing (client-server API "Receipts", "Read markers", "Typing").
#include "server/api/common.hpp"

namespace lotse::api {
namespace {

void require_event_in_room(Homeserver& hs, const std::string& room_id, const std::string& event_id) {
  auto ev = hs.rooms.event(event_id);
  if (!ev || ev->room_id != room_id) throw http::not_found("Unknown event " + event_id);
}

awaitable<Response> post_receipt(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto room = require_room(hs, r.param("roomId"));
  require_joined(hs, room.room_id, auth.user_id);
  const auto& type = r.param("receiptType");
  if (type != "m.read" && type != "m.read.private" && type != "m.fully_read")
    throw http::invalid_param("Unsupported receipt type " + type);
  require_event_in_room(hs, room.room_id, r.param("eventId"));
  std::string thread;
  if (!r.body.empty()) thread = opt_string(r.json_object(), "thread_id").value_or("");
  if (thread == "main") thread.clear();
  {
    store::WriteUnit unit(hs.db);
    if (type == "m.fully_read")
      hs.account_data.set(unit, auth.user_id, room.room_id, "m.fully_read",
                          boost::json::serialize(boost::json::object{{"event_id", r.param("eventId")}}));
    else
      hs.receipts.set(unit, room.room_id, auth.user_id, type, r.param("eventId"), thread);
    unit.release();
  }
  co_await hs.db.commit();
  co_return empty_ok();
}

awaitable<Response> post_read_markers(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto room = require_room(hs, r.param("roomId"));
  require_joined(hs, room.room_id, auth.user_id);
  const auto& body = r.json_object();
  auto fully_read = opt_string(body, "m.fully_read");
  auto read = opt_string(body, "m.read");
  auto read_private = opt_string(body, "m.read.private");
  for (const auto& id : {fully_read, read, read_private})
    if (id) require_event_in_room(hs, room.room_id, *id);
  {
    store::WriteUnit unit(hs.db);
    if (fully_read)
      hs.account_data.set(unit, auth.user_id, room.room_id, "m.fully_read",
                          boost::json::serialize(boost::json::object{{"event_id", *fully_read}}));
    if (read) hs.receipts.set(unit, room.room_id, auth.user_id, "m.read", *read, "");
    if (read_private) hs.receipts.set(unit, room.room_id, auth.user_id, "m.read.private", *read_private, "");
    unit.release();
  }
  co_await hs.db.commit();
  co_return empty_ok();
}

awaitable<Response> put_typing(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto room = require_room(hs, r.param("roomId"));
  if (r.param("userId") != auth.user_id) throw http::forbidden("You can only set your own typing state.");
  require_joined(hs, room.room_id, auth.user_id);
  const auto& body = r.json_object();
  auto typing = opt_bool(body, "typing");
  if (!typing) throw http::missing_param("missing 'typing'");
  std::int64_t timeout = 30000;
  if (auto* t = body.if_contains("timeout"); t && t->is_int64()) timeout = std::clamp<std::int64_t>(t->get_int64(), 1, 120000);
  hs.typing.set(room.room_id, auth.user_id, *typing, std::chrono::milliseconds(timeout));
  co_return empty_ok();
}

}  // namespace

void register_receipt_routes(http::Router& router, Homeserver& hs) {
  client_route(router, verb::post, "/rooms/{roomId}/receipt/{receiptType}/{eventId}",
               [&hs](Request& r) { return post_receipt(hs, r); });
  client_route(router, verb::post, "/rooms/{roomId}/read_markers", [&hs](Request& r) { return post_read_markers(hs, r); });
  client_route(router, verb::put, "/rooms/{roomId}/typing/{userId}", [&hs](Request& r) { return put_typing(hs, r); });
}

}  // namespace lotse::api
