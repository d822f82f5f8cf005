// Helpers shared by the API handlers: authentication, rate limits, body fields, route registration
// that turns domain errors into Matrix errors.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

#include <optional>
#include <string>

#include "server/api/homeserver.hpp"
#include "server/core/errors.hpp"
#include "server/http/matrix_error.hpp"
#include "server/http/request.hpp"

namespace lotse::api {

using boost::asio::awaitable;
using http::MatrixError;
using http::Request;
using http::Response;
using verb = boost::beast::http::verb;

// Validates the access token; fills request.auth. Throws M_MISSING_TOKEN / M_UNKNOWN_TOKEN (401).
const http::Auth& require_auth(Homeserver& hs, Request& request);
// require_auth, and the token must be an administrator's (403 otherwise): the admin APIs.
const http::Auth& require_admin(Homeserver& hs, Request& request);
// Throws M_LIMIT_EXCEEDED (429, retry_after_ms) when the limiter refuses `key`.
void check_rate(Homeserver& hs, http::RateLimiter& limiter, const std::string& key);

MatrixError to_matrix_error(const core::CoreError& e);

// Registers a handler for the client API (v3 and, if legacy_r0, r0); domain errors become Matrix errors.
void client_route(http::Router& router, verb method, const std::string& path, http::Handler handler,
                  bool legacy_r0 = true);
void raw_route(http::Router& router, verb method, const std::string& path, http::Handler handler,
               bool streaming = false);

// ASCII upper case lowered: localparts are lower case, "Anna" registers and signs in as "anna" (as
// Synapse does).
std::string lower_ascii(std::string s);

// Body field accessors: absent -> nullopt; wrong type -> M_BAD_JSON naming the field.
std::optional<std::string> opt_string(const boost::json::object& o, const char* key);
std::string req_string(const boost::json::object& o, const char* key);
std::optional<bool> opt_bool(const boost::json::object& o, const char* key);
const boost::json::object& req_object(const boost::json::object& o, const char* key);

// An integer query parameter clamped to [min, max]; `fallback` when absent; M_INVALID_PARAM when not
// a number.
std::int64_t int_param(const Request& r, const std::string& name, std::int64_t fallback, std::int64_t min,
                       std::int64_t max);

// A filter given inline in a query parameter (or stored by /filter), parsed within the body limits;
// M_BAD_JSON unless it is a JSON object.
boost::json::object parse_filter_param(const std::string& text);

// Room helpers used by several API areas.
core::RoomInfo require_room(Homeserver& hs, const std::string& room_id);
// Throws M_FORBIDDEN unless the user is joined to the room.
void require_joined(Homeserver& hs, const std::string& room_id, const std::string& user_id);

inline Response empty_ok() { return Response::json(boost::json::object{}); }

}  // namespace lotse::api

namespace lotse::api {
// Removes a device with its access tokens, keys and pending to-device messages.
void remove_device(Homeserver& hs, store::WriteUnit& unit, const std::string& user_id, const std::string& device_id);
// Removes all devices of the user except `keep`.
void remove_all_devices(Homeserver& hs, store::WriteUnit& unit, const std::string& user_id,
                        const std::optional<std::string>& keep);
// Appends an m.room.member event; joins carry the user's current display name and avatar.
core::StoredEvent append_membership(Homeserver& hs, store::WriteUnit& unit, const core::RoomInfo& room,
                                    const std::string& sender, const std::string& target,
                                    const std::string& membership, const std::optional<std::string>& reason);
}  // namespace lotse::api
