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

// "de.lotse.password_scheme" of a registration or password change: how the client formed the
// password (absent: as typed; "derived-v1": the web app's derived login secret). Anything else is
// M_INVALID_PARAM.
std::optional<std::string> password_scheme_param(const boost::json::object& body);

// A wrong password at login (403) or in UIA (its 401 challenge): for an account whose password is
// kept as typed, the body says so ("de.lotse.password_scheme": "as_typed"), so that the web app tries
// the typed password only for such an account; a derived account (or none) gets no such hint.
MatrixError with_password_hint(Homeserver& hs, const std::string& user_id, MatrixError error);

// The user ID a login identifier names: a full MXID or a localpart on this server.
std::string user_id_from_identifier(Homeserver& hs, const boost::json::object& body);

}  // namespace lotse::api
