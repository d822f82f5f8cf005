// Profiles and the user directory (client-server API "Profiles", "User directory").
#include "server/api/common.hpp"
#include "server/core/identifiers.hpp"

#include <set>

namespace lotse::api {
namespace {

core::UserRecord require_user(Homeserver& hs, const std::string& user_id) {
  auto user = hs.accounts.find_user(user_id);
  if (!user || user->deactivated) throw http::not_found("Profile not found.");
  return *user;
}

boost::json::object profile_json(const core::UserRecord& u) {
  boost::json::object o;
  if (u.displayname) o["displayname"] = *u.displayname;
  if (u.avatar_url) o["avatar_url"] = *u.avatar_url;
  return o;
}

// Profiles need an access token and follow Policy::check_profile_visible. A profile the caller may
// not see is refused with 403 before the user is looked up, so unknown and hidden users look alike
// (the spec's 403: "unwilling to disclose whether the user exists").
core::UserRecord visible_user(Homeserver& hs, Request& r) {
  const auto& auth = require_auth(hs, r);
  hs.policy.check_profile_visible(hs.rooms, auth.user_id, r.param("userId"));
  return require_user(hs, r.param("userId"));
}

awaitable<Response> get_field(Homeserver& hs, Request& r, std::string field) {
  auto user = visible_user(hs, r);
  auto o = profile_json(user);
  if (!o.contains(field)) throw http::not_found("This user has no " + field + ".");
  co_return Response::json({{field, o[field]}});
}

awaitable<Response> put_field(Homeserver& hs, Request& r, std::string field) {
  auto auth = require_auth(hs, r);
  if (r.param("userId") != auth.user_id) throw http::forbidden("You cannot change another user's profile.");
  const auto& body = r.json_object();
  auto value = opt_string(body, field.c_str());
  if (value && value->size() > 256) throw http::invalid_param(field + " is too long");
  if (field == "avatar_url" && value && !value->empty() && value->rfind("mxc://", 0) != 0)
    throw http::invalid_param("avatar_url must be an mxc:// URI");
  if (value && value->empty()) value.reset();
  {
    store::WriteUnit unit(hs.db);
    hs.accounts.set_profile_field(unit, auth.user_id, field, value);
    // Rooms show the new name through a fresh join event.
    for (const auto& room : hs.rooms.rooms_of(auth.user_id))
      if (room.membership == "join")
        if (auto info = hs.rooms.room(room.room_id))
          append_membership(hs, unit, *info, auth.user_id, auth.user_id, "join", std::nullopt);
    unit.release();
  }
  co_await hs.db.commit();
  co_return empty_ok();
}

awaitable<Response> post_user_directory(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  const auto& body = r.json_object();
  auto term = req_string(body, "search_term");
  std::int64_t limit = 10;
  if (auto* l = body.if_contains("limit"); l && l->is_int64()) limit = std::clamp<std::int64_t>(l->get_int64(), 1, 50);
  for (auto& c : term) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // Only users who share a room with the searcher (both joined or invited) are found, for every
  // role: counselors find colleagues from shared rooms (the exchange) and the seekers of their
  // consultations, never all seekers; seekers find only the staff of their consultations.
  std::set<std::string> visible = hs.keys.users_sharing_rooms(auth.user_id);
  boost::json::array results;
  bool limited = false;
  for (const auto& user_id : visible) {
    if (user_id == auth.user_id || !hs.policy.directory_visible(auth.user_id, user_id)) continue;
    auto user = hs.accounts.find_user(user_id);
    if (!user || user->deactivated) continue;
    std::string hay = user_id + " " + user->displayname.value_or("");
    for (auto& c : hay) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (hay.find(term) == std::string::npos) continue;
    if (static_cast<std::int64_t>(results.size()) >= limit) {
      limited = true;
      break;
    }
    auto o = profile_json(*user);
    o["user_id"] = user_id;
    if (o.contains("displayname")) o["display_name"] = o["displayname"];
    o.erase("displayname");
    results.push_back(std::move(o));
  }
  co_return Response::json({{"results", std::move(results)}, {"limited", limited}});
}

}  // namespace

void register_profile_routes(http::Router& router, Homeserver& hs) {
  client_route(router, verb::get, "/profile/{userId}", [&hs](Request& r) -> awaitable<Response> {
    co_return Response::json(profile_json(visible_user(hs, r)));
  });
  for (std::string field : {"displayname", "avatar_url"}) {
    client_route(router, verb::get, "/profile/{userId}/" + field, [&hs, field](Request& r) { return get_field(hs, r, field); });
    client_route(router, verb::put, "/profile/{userId}/" + field, [&hs, field](Request& r) { return put_field(hs, r, field); });
  }
  client_route(router, verb::post, "/user_directory/search", [&hs](Request& r) { return post_user_directory(hs, r); });
}

}  // namespace lotse::api
