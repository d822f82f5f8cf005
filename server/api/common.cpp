// Shared handler helpers.
#include "server/api/common.hpp"

#include <algorithm>

#include "e2ee/safe_json.hpp"
#include "server/core/identifiers.hpp"

namespace lotse::api {

const http::Auth& require_auth(Homeserver& hs, Request& request) {
  if (request.auth) return *request.auth;
  auto token = request.access_token();
  if (!token) throw MatrixError(401, "M_MISSING_TOKEN", "Missing access token.");
  auto found = hs.accounts.authenticate(*token);
  if (!found) throw MatrixError(401, "M_UNKNOWN_TOKEN", "Unrecognised access token.", {{"soft_logout", false}});
  request.auth = http::Auth{found->first, found->second};
  return *request.auth;
}

const http::Auth& require_admin(Homeserver& hs, Request& r) {
  const auto& auth = require_auth(hs, r);
  if (hs.accounts.role(auth.user_id) != "admin") throw http::forbidden("This needs an administrator's access token.");
  return auth;
}

void check_rate(Homeserver& hs, http::RateLimiter& limiter, const std::string& key) {
  if (!hs.config.rate_limits.enabled) return;
  std::int64_t retry = 0;
  if (!limiter.allow(key, retry)) {
    hs.metrics.rate_limited(&limiter == &hs.register_limiter ? "registration"
                            : &limiter == &hs.login_limiter  ? "login"
                            : &limiter == &hs.message_limiter ? "messages"
                                                              : "media");
    throw MatrixError(429, "M_LIMIT_EXCEEDED", "Too many requests.", {{"retry_after_ms", retry}});
  }
}

MatrixError to_matrix_error(const core::CoreError& e) {
  unsigned status = 400;
  switch (e.kind) {
    case core::ErrorKind::invalid: status = 400; break;
    case core::ErrorKind::forbidden: status = 403; break;
    case core::ErrorKind::not_found: status = 404; break;
    case core::ErrorKind::too_large: status = 413; break;
  }
  return MatrixError(status, e.errcode, e.what());
}

namespace {
awaitable<Response> call_guarded(const http::Handler& handler, Request& r) {
  try {
    co_return co_await handler(r);
  } catch (const core::CoreError& e) {
    throw to_matrix_error(e);
  }
}

// Not a capturing coroutine lambda (GCC 12 mishandles those): a functor that calls a coroutine.
struct Guarded {
  http::Handler handler;
  awaitable<Response> operator()(Request& r) const { return call_guarded(handler, r); }
};
http::Handler guarded(http::Handler handler) { return Guarded{std::move(handler)}; }
}  // namespace

void client_route(http::Router& router, verb method, const std::string& path, http::Handler handler, bool legacy_r0) {
  router.client(method, path, guarded(std::move(handler)), legacy_r0);
}

void raw_route(http::Router& router, verb method, const std::string& path, http::Handler handler, bool streaming) {
  router.add(method, path, guarded(std::move(handler)), streaming);
}

std::string lower_ascii(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::optional<std::string> opt_string(const boost::json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_string()) throw http::bad_json(std::string("'") + key + "' must be a string");
  return std::string(v->get_string());
}

std::string req_string(const boost::json::object& o, const char* key) {
  auto v = opt_string(o, key);
  if (!v) throw http::missing_param(std::string("missing '") + key + "'");
  return *v;
}

std::optional<bool> opt_bool(const boost::json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_bool()) throw http::bad_json(std::string("'") + key + "' must be a boolean");
  return v->get_bool();
}

const boost::json::object& req_object(const boost::json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  if (!v) throw http::missing_param(std::string("missing '") + key + "'");
  if (!v->is_object()) throw http::bad_json(std::string("'") + key + "' must be an object");
  return v->get_object();
}

std::int64_t int_param(const Request& r, const std::string& name, std::int64_t fallback, std::int64_t min,
                       std::int64_t max) {
  auto v = r.query_param(name);
  if (!v) return fallback;
  try {
    std::size_t used = 0;
    auto n = std::stoll(*v, &used);
    if (used != v->size()) throw std::invalid_argument(name);
    return std::clamp<std::int64_t>(n, min, max);
  } catch (const std::exception&) {
    throw http::invalid_param(name + " must be an integer");
  }
}

boost::json::object parse_filter_param(const std::string& text) {
  try {
    auto v = e2ee::parse_limited(text);
    if (v.is_object()) return std::move(v.get_object());
  } catch (const e2ee::JsonLimitError& e) {
    if (e.kind != e2ee::JsonLimitError::Kind::syntax) throw http::bad_json(std::string("filter: ") + e.what());
  }
  throw http::bad_json("filter must be a JSON object");
}

core::RoomInfo require_room(Homeserver& hs, const std::string& room_id) {
  if (!core::is_valid_room_id(room_id)) throw http::invalid_param("'" + room_id + "' is not a valid room ID");
  auto room = hs.rooms.room(room_id);
  if (!room) throw http::not_found("Unknown room " + room_id);
  return *room;
}

void require_joined(Homeserver& hs, const std::string& room_id, const std::string& user_id) {
  if (hs.rooms.membership(room_id, user_id) != "join")
    throw http::forbidden("You are not a member of room " + room_id);
}

}  // namespace lotse::api

namespace lotse::api {
void remove_device(Homeserver& hs, store::WriteUnit& unit, const std::string& user_id, const std::string& device_id) {
  hs.accounts.delete_device(unit, user_id, device_id);
  hs.keys.delete_device(unit, user_id, device_id);
}

void remove_all_devices(Homeserver& hs, store::WriteUnit& unit, const std::string& user_id,
                        const std::optional<std::string>& keep) {
  for (const auto& d : hs.accounts.devices(user_id))
    if (!keep || d.device_id != *keep) remove_device(hs, unit, user_id, d.device_id);
}

core::StoredEvent append_membership(Homeserver& hs, store::WriteUnit& unit, const core::RoomInfo& room,
                                    const std::string& sender, const std::string& target,
                                    const std::string& membership, const std::optional<std::string>& reason) {
  boost::json::object content{{"membership", membership}};
  if (membership == "join" || membership == "invite") {
    if (auto user = hs.accounts.find_user(target)) {
      if (user->displayname) content["displayname"] = *user->displayname;
      if (user->avatar_url) content["avatar_url"] = *user->avatar_url;
    }
  }
  if (reason && !reason->empty()) content["reason"] = *reason;
  return hs.rooms.append(unit, room, sender, "m.room.member", std::move(content), target);
}
}  // namespace lotse::api
