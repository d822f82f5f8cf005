// UIA with m.login.dummy (registration) and m.login.password (sensitive account changes).
#include "server/api/client/uia.hpp"

#include "e2ee/crypto.hpp"
#include "server/core/passwords.hpp"
#include "server/log.hpp"

#include <algorithm>

namespace lotse::api {

MatrixError uia_challenge(const std::string& stage, std::optional<std::string> session,
                          std::optional<MatrixError> failure) {
  boost::json::object extra{{"flows", boost::json::array{boost::json::object{{"stages", {stage}}}}},
                            {"params", boost::json::object{}},
                            {"session", session.value_or(e2ee::random_token(16))}};
  if (failure) {
    extra["completed"] = boost::json::array{};
    return MatrixError(401, failure->errcode, failure->what(), extra);
  }
  return MatrixError(401, "", "", extra);
}

namespace {

// An imported bcrypt or PBKDF2 hash is replaced by argon2id the moment it has proved the password,
// so the old system's weaker hash is gone after each person's first login.
awaitable<void> upgrade_legacy_hash(Homeserver& hs, std::string user_id, std::string old_hash, std::string password) {
  auto cost = hs.password_cost();
  auto hash_task = [password, cost] { return core::hash_password(password, cost); };
  auto fresh = co_await hs.run_blocking(hash_task);
  auto user = hs.accounts.find_user(user_id);
  if (!user || user->password_hash != old_hash) co_return;  // changed meanwhile: keep the newer one
  {
    store::WriteUnit unit(hs.db);
    hs.accounts.set_password_hash(unit, user_id, fresh);
    unit.release();
  }
  co_await hs.db.commit();
  log_line("info", "imported password hash replaced by argon2id", {{"user_id", user_id}});
}

}  // namespace

awaitable<bool> password_matches(Homeserver& hs, const std::string& user_id, const std::string& password) {
  auto user = hs.accounts.find_user(user_id);
  std::string hash = user && !user->deactivated ? user->password_hash : std::string();
  if (hash.empty()) {
    // Same cost as a real check, so response time does not reveal whether the account exists.
    static const std::string dummy = core::hash_password("dummy-password", hs.password_cost());
    hash = dummy;
  }
  auto verify_task = [hash, password] { return core::verify_password(hash, password); };
  bool ok = co_await hs.run_blocking(verify_task) && user && !user->deactivated;
  if (ok && core::is_legacy_hash(hash)) co_await upgrade_legacy_hash(hs, user_id, hash, password);
  co_return ok;
}

std::optional<std::string> password_scheme_param(const boost::json::object& body) {
  auto* v = body.if_contains("de.lotse.password_scheme");
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_string() || v->get_string() != "derived-v1")
    throw http::invalid_param("de.lotse.password_scheme must be \"derived-v1\" when given");
  return std::string(v->get_string());
}

MatrixError with_password_hint(Homeserver& hs, const std::string& user_id, MatrixError error) {
  auto user = hs.accounts.find_user(user_id);
  if (user && !user->deactivated && !user->password_hash.empty() && !user->password_scheme)
    error.extra["de.lotse.password_scheme"] = "as_typed";
  return error;
}

std::string user_id_from_identifier(Homeserver& hs, const boost::json::object& body) {
  std::string user;
  if (auto* id = body.if_contains("identifier")) {
    if (!id->is_object()) throw http::bad_json("'identifier' must be an object");
    auto type = opt_string(id->get_object(), "type");
    if (type != "m.id.user") throw MatrixError(400, "M_UNKNOWN", "Only m.id.user identifiers are supported.");
    user = req_string(id->get_object(), "user");
  } else if (auto u = opt_string(body, "user")) {
    user = *u;
  } else {
    throw http::missing_param("missing 'identifier'");
  }
  // Localparts are lower case (registration lowers "Anna" to "anna"), so is the one signed in with.
  if (user.empty() || user[0] != '@') return "@" + lower_ascii(user) + ":" + hs.config.server_name;
  auto colon = std::min(user.find(':'), user.size());
  return "@" + lower_ascii(user.substr(1, colon - 1)) + user.substr(colon);
}

awaitable<void> require_password_uia(Homeserver& hs, Request& request, const std::string& user_id) {
  // No body at all (DELETE /devices/{id} as its first step) asks for the flows like an empty one.
  if (request.body.empty()) throw uia_challenge("m.login.password");
  const auto& body = request.json_object();
  auto* auth = body.if_contains("auth");
  if (!auth || !auth->is_object()) throw uia_challenge("m.login.password");
  const auto& a = auth->get_object();
  auto session = opt_string(a, "session");
  if (opt_string(a, "type") != "m.login.password")
    throw uia_challenge("m.login.password", session, MatrixError(401, "M_UNRECOGNIZED", "Unsupported auth type."));
  std::string named = user_id_from_identifier(hs, a);
  auto password = opt_string(a, "password").value_or("");
  if (named != user_id || !co_await password_matches(hs, user_id, password))
    throw with_password_hint(hs, user_id,
                             uia_challenge("m.login.password", session, MatrixError(401, "M_FORBIDDEN", "Invalid password.")));
}

}  // namespace lotse::api
