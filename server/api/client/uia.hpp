// User-interactive authentication (client-server API "User-Interactive Authentication API").
#pragma once
#include "server/api/common.hpp"

namespace lotse::api {

// The 401 body that starts (or continues) a flow with the given single stage.
MatrixError uia_challenge(const std::string& stage, std::optional<std::string> session = std::nullopt,
                          std::optional<MatrixError> failure = std::nullopt);

// Completes when the body's `auth` proves `user_id`'s password; otherwise throws the 401 challenge.
awaitable<void> require_password_uia(Homeserver& hs, Request& request, const std::string& user_id);

// Checks a password against the stored hash on the blocking pool; false for unknown or deactivated users.
awaitable<bool> password_matches(Homeserver& hs, const std::string& user_id, const std::string& password);

// The user ID a login identifier names: a full MXID or a localpart on this server.
std::string user_id_from_identifier(Homeserver& hs, const boost::json::object& body);

}  // namespace lotse::api
