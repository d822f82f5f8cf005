// Account data and room tags (client-server API "Client Config", "Room Tagging").
#include "server/api/common.hpp"
#include "server/core/stored_json.hpp"

namespace lotse::api {
namespace {

// Only the owner may read or write; room-scoped data needs a known room.
void check_owner(const http::Auth& auth, const Request& r) {
  if (r.param("userId") != auth.user_id) throw http::forbidden("You cannot access another user's account data.");
}

void check_type(const std::string& type) {
  if (type == "m.fully_read" || type == "m.push_rules")
    throw MatrixError(405, "M_BAD_JSON", "Cannot set " + type + " through the account data API.");
}

awaitable<Response> get_data(Homeserver& hs, Request& r, std::string room_id) {
  auto auth = require_auth(hs, r);
  check_owner(auth, r);
  auto v = hs.account_data.get(auth.user_id, room_id, r.param("type"));
  if (!v) throw http::not_found("No account data of type " + r.param("type") + ".");
  Response res;
  res.body = *v;
  co_return res;
}

awaitable<Response> put_data(Homeserver& hs, Request& r, std::string room_id) {
  auto auth = require_auth(hs, r);
  check_owner(auth, r);
  check_type(r.param("type"));
  const auto& body = r.json_object();  // must be a JSON object; stored exactly as sent
  if (!room_id.empty()) require_room(hs, room_id);
  // The service user brings every consultation; ignoring it ("Decline and block" in Element) would
  // silently cut a counselor off from all future consultations.
  if (room_id.empty() && r.param("type") == "m.ignored_user_list")
    if (auto* ignored = body.if_contains("ignored_users"); ignored && ignored->is_object() &&
                                                          ignored->as_object().contains(hs.service_user_id()))
      throw http::forbidden("The service user brings you your consultations and cannot be ignored.");
  {
    store::WriteUnit unit(hs.db);
    hs.account_data.set(unit, auth.user_id, room_id, r.param("type"), r.body);
    unit.release();
  }
  if (room_id.empty() && r.param("type") == "m.ignored_user_list") hs.notifications.ignored_changed(auth.user_id);
  co_await hs.db.commit();
  co_return empty_ok();
}

awaitable<Response> change_tag(Homeserver& hs, Request& r, bool add) {
  auto auth = require_auth(hs, r);
  check_owner(auth, r);
  auto room = require_room(hs, r.param("roomId"));
  boost::json::object tags;
  if (auto existing = hs.account_data.get(auth.user_id, room.room_id, "m.tag")) {
    if (auto v = core::read_stored_json(*existing, "m.tag", auth.user_id); v && v->is_object())
      if (auto* t = v->as_object().if_contains("tags"); t && t->is_object()) tags = t->as_object();
  }
  if (add) {
    const auto& body = r.json_object(e2ee::kTagBodyLimits);  // `order` is the API's one fractional number
    boost::json::object tag;
    if (auto* o = body.if_contains("order")) {
      if (!o->is_number()) throw http::bad_json("'order' must be a number");
      tag["order"] = *o;
    }
    if (r.param("tag").size() > 255) throw http::invalid_param("tag is too long");
    tags[r.param("tag")] = std::move(tag);
  } else {
    tags.erase(r.param("tag"));
  }
  {
    store::WriteUnit unit(hs.db);
    hs.account_data.set(unit, auth.user_id, room.room_id, "m.tag",
                        boost::json::serialize(boost::json::object{{"tags", std::move(tags)}}));
    unit.release();
  }
  co_await hs.db.commit();
  co_return empty_ok();
}

}  // namespace

void register_account_data_routes(http::Router& router, Homeserver& hs) {
  client_route(router, verb::get, "/user/{userId}/account_data/{type}", [&hs](Request& r) { return get_data(hs, r, ""); });
  client_route(router, verb::put, "/user/{userId}/account_data/{type}", [&hs](Request& r) { return put_data(hs, r, ""); });
  client_route(router, verb::get, "/user/{userId}/rooms/{roomId}/account_data/{type}",
               [&hs](Request& r) { return get_data(hs, r, r.param("roomId")); });
  client_route(router, verb::put, "/user/{userId}/rooms/{roomId}/account_data/{type}",
               [&hs](Request& r) { return put_data(hs, r, r.param("roomId")); });
  client_route(router, verb::get, "/user/{userId}/rooms/{roomId}/tags", [&hs](Request& r) -> awaitable<Response> {
    auto auth = require_auth(hs, r);
    check_owner(auth, r);
    auto existing = hs.account_data.get(auth.user_id, r.param("roomId"), "m.tag");
    if (!existing) co_return Response::json({{"tags", boost::json::object{}}});
    Response res;
    res.body = *existing;
    co_return res;
  });
  client_route(router, verb::put, "/user/{userId}/rooms/{roomId}/tags/{tag}", [&hs](Request& r) { return change_tag(hs, r, true); });
  client_route(router, verb::delete_, "/user/{userId}/rooms/{roomId}/tags/{tag}",
               [&hs](Request& r) { return change_tag(hs, r, false); });
}

}  // namespace lotse::api
