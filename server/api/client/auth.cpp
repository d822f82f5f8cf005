// Registration, login, logout and whoami (client-server API "Account registration", "Login").
#include "server/api/client/push_rules.hpp"
#include "server/api/client/uia.hpp"
#include "server/api/common.hpp"
#include "server/core/identifiers.hpp"
#include "server/core/imports.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_map>

namespace lotse::api {
namespace {

constexpr std::size_t kMaxPasswordBytes = 512;

std::string ip_key(const Request& r) { return "ip:" + r.remote_ip; }

void validate_password(const std::string& password) {
  if (password.empty()) throw http::missing_param("missing 'password'");
  if (password.size() > kMaxPasswordBytes) throw http::invalid_param("password is too long");
}

std::string user_id_for_localpart(Homeserver& hs, const std::string& localpart) {
  if (!core::is_valid_new_localpart(localpart))
    throw MatrixError(400, "M_INVALID_USERNAME",
                      "User ID may only contain lower-case letters, digits and ._=-/+ and must not be empty.");
  std::string user_id = "@" + localpart + ":" + hs.config.server_name;
  if (user_id.size() > 255) throw MatrixError(400, "M_INVALID_USERNAME", "User ID is too long.");
  if (localpart == core::kBridgeLocalpart) throw MatrixError(400, "M_EXCLUSIVE", "This name is reserved for the import of the old system.");
  return user_id;
}

// The device id a client asks for; the import's reserved one is refused (its transaction ids would
// mix with the imported messages').
std::optional<std::string> client_device_id(const boost::json::object& body) {
  auto id = opt_string(body, "device_id");
  if (id && *id == core::kImportDeviceId) throw http::invalid_param("This device ID is reserved for the import of the old system.");
  return id;
}

boost::json::object session_json(Homeserver& hs, const core::Session& s) {
  return {{"user_id", s.user_id}, {"access_token", s.access_token}, {"device_id", s.device_id},
          {"home_server", hs.config.server_name}};
}

// A registration's interactive authentication is one operation (spec "User-Interactive
// Authentication API"): what its first request named (username, password, device, ...) is kept
// under its session ID, in memory for 10 minutes, so the completing request may leave it out. At
// most kMaxPendingRegistrations at once: beyond, the oldest is forgotten (a flood of first steps
// then costs a client only the parameters it must send again, never its registration).
constexpr std::size_t kMaxPendingRegistrations = 1000;
constexpr auto kPendingRegistrationLife = std::chrono::minutes(10);
struct PendingRegistration {
  boost::json::object params;
  std::chrono::steady_clock::time_point expires;
};
std::unordered_map<std::string, PendingRegistration>& pending_registrations() {
  static std::unordered_map<std::string, PendingRegistration> pending;
  return pending;
}

std::string remember_registration(const boost::json::object& body) {
  auto& pending = pending_registrations();
  auto now = std::chrono::steady_clock::now();
  std::erase_if(pending, [&](const auto& kv) { return kv.second.expires < now; });
  if (pending.size() >= kMaxPendingRegistrations)
    pending.erase(std::min_element(pending.begin(), pending.end(),
                                   [](const auto& a, const auto& b) { return a.second.expires < b.second.expires; }));
  boost::json::object params;
  for (auto key : {"username", "password", "device_id", "initial_device_display_name", "inhibit_login", "de.lotse.password_scheme"})
    if (auto* v = body.if_contains(key)) params[key] = *v;
  auto session = e2ee::random_token(16);
  pending[session] = {std::move(params), now + kPendingRegistrationLife};
  return session;
}

// The request with what its session's first request named filled in (the request's own values win).
boost::json::object with_remembered(const boost::json::object& body) {
  boost::json::object out = body;
  auto* auth = body.if_contains("auth");
  auto session = auth && auth->is_object() ? opt_string(auth->get_object(), "session") : std::nullopt;
  if (!session) return out;
  auto& pending = pending_registrations();
  auto it = pending.find(*session);
  if (it == pending.end() || it->second.expires < std::chrono::steady_clock::now()) return out;
  for (const auto& kv : it->second.params)
    if (!out.contains(kv.key())) out[kv.key()] = kv.value();
  return out;
}

void forget_registration(const boost::json::object& body) {
  auto* auth = body.if_contains("auth");
  if (auto session = auth && auth->is_object() ? opt_string(auth->get_object(), "session") : std::nullopt)
    pending_registrations().erase(*session);
}

awaitable<Response> post_register(Homeserver& hs, Request& r) {
  if (!hs.config.registration.enabled) throw http::forbidden("Registration is disabled on this server.");
  if (auto kind = r.query_param("kind"); kind && *kind != "user")
    throw MatrixError(403, "M_GUEST_ACCESS_FORBIDDEN", "Guest access is not allowed on this server.");
  const auto body = with_remembered(r.json_object());
  check_rate(hs, hs.register_limiter, ip_key(r));

  std::string localpart = lower_ascii(opt_string(body, "username").value_or(""));
  if (localpart.empty()) {
    // A name of the server's choosing, in the grammar it enforces (lower case: base64url's upper-case
    // letters made such a registration fail with M_INVALID_USERNAME more often than not).
    static constexpr char kDigits[] = "0123456789abcdef";
    localpart = "u";
    for (unsigned char b : e2ee::random_bytes(9)) { localpart += kDigits[b >> 4]; localpart += kDigits[b & 15]; }
  }
  std::string user_id = user_id_for_localpart(hs, localpart);
  if (hs.accounts.user_exists(user_id)) throw MatrixError(400, "M_USER_IN_USE", "This user ID is already taken.");

  // With a registration token configured, the flow is m.login.registration_token, else m.login.dummy.
  // The first request (no `auth`) learns the flows even before it names a password (spec, UIA).
  const std::string& token = hs.config.registration.token;
  std::string stage = token.empty() ? "m.login.dummy" : "m.login.registration_token";
  auto* auth = body.if_contains("auth");
  if (!auth || !auth->is_object() || auth->get_object().empty()) throw uia_challenge(stage, remember_registration(body));
  std::string password = opt_string(body, "password").value_or("");
  validate_password(password);
  auto scheme = password_scheme_param(body);
  auto session = opt_string(auth->get_object(), "session");
  if (opt_string(auth->get_object(), "type") != stage)
    throw uia_challenge(stage, session, MatrixError(401, "M_UNRECOGNIZED", "This server registers with " + stage + "."));
  if (!token.empty() && opt_string(auth->get_object(), "token") != token)
    throw uia_challenge(stage, session, MatrixError(401, "M_FORBIDDEN", "The registration token is not valid."));

  auto cost = hs.password_cost();
  auto hash_task = [password, cost] { return core::hash_password(password, cost); };
  std::string hash = co_await hs.run_blocking(hash_task);
  if (hs.accounts.user_exists(user_id)) throw MatrixError(400, "M_USER_IN_USE", "This user ID is already taken.");

  bool inhibit = opt_bool(body, "inhibit_login").value_or(false);
  boost::json::object out{{"user_id", user_id}, {"home_server", hs.config.server_name}};
  {
    store::WriteUnit unit(hs.db);
    hs.accounts.create_user(unit, user_id, hash, localpart, hs.config.registration.role, scheme);
    hs.account_data.set(unit, user_id, "", "m.push_rules", default_push_rules(user_id));
    if (!inhibit) {
      auto s = hs.accounts.open_session(unit, user_id, client_device_id(body),
                                        opt_string(body, "initial_device_display_name"), r.remote_ip);
      out = session_json(hs, s);
    }
    unit.release();
  }
  co_await hs.db.commit();
  forget_registration(body);
  co_return Response::json(out);
}

awaitable<Response> get_register_available(Homeserver& hs, Request& r) {
  auto username = r.query_param("username");
  if (!username) throw http::missing_param("missing 'username'");
  check_rate(hs, hs.register_limiter, ip_key(r));
  std::string user_id = user_id_for_localpart(hs, *username);
  if (hs.accounts.user_exists(user_id)) throw MatrixError(400, "M_USER_IN_USE", "This user ID is already taken.");
  co_return Response::json({{"available", true}});
}

awaitable<Response> post_login(Homeserver& hs, Request& r) {
  const auto& body = r.json_object();
  auto type = req_string(body, "type");
  if (type != "m.login.password") throw MatrixError(400, "M_UNKNOWN", "Unsupported login type " + type + ".");
  check_rate(hs, hs.login_limiter, ip_key(r));
  std::string user_id = user_id_from_identifier(hs, body);
  auto password = opt_string(body, "password").value_or("");
  auto scheme = password_scheme_param(body);
  auto user = hs.accounts.find_user(user_id);
  if (user && user->deactivated) throw MatrixError(403, "M_USER_DEACTIVATED", "This account has been deactivated.");
  // Per account, whatever address the guesses come from; unknown accounts are treated alike (only a
  // wrong password's as-typed hint tells that an account exists, see with_password_hint).
  if (hs.config.rate_limits.enabled) {
    if (auto wait = hs.login_backoff.wait_ms(user_id); wait > 0) {
      hs.metrics.rate_limited("login_account");
      throw MatrixError(429, "M_LIMIT_EXCEEDED", "Too many failed logins for this account; try again later.",
                        {{"retry_after_ms", wait}});
    }
  }
  // Counted as failed until the hash says otherwise, so concurrent guesses cannot all slip through
  // before the first one is recorded.
  hs.login_backoff.failed(user_id);
  if (!co_await password_matches(hs, user_id, password))
    throw with_password_hint(hs, user_id, http::forbidden("Invalid username or password."));
  hs.login_backoff.succeeded(user_id);
  core::Session s;
  {
    store::WriteUnit unit(hs.db);
    s = hs.accounts.open_session(unit, user_id, client_device_id(body),
                                 opt_string(body, "initial_device_display_name"), r.remote_ip);
    // The web app's derived secret matched an account whose scheme was never recorded (registered by
    // the app before schema 0012): recorded now, so that its typos are no longer answered with the
    // as-typed hint. Only the password itself can match, so no one else can change the scheme.
    if (scheme && user && !user->password_scheme) hs.accounts.set_password_scheme(unit, user_id, scheme);
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json(session_json(hs, s));
}

awaitable<Response> post_logout(Homeserver& hs, Request& r) {
  const auto& auth = require_auth(hs, r);
  {
    store::WriteUnit unit(hs.db);
    remove_device(hs, unit, auth.user_id, auth.device_id);
    unit.release();
  }
  co_await hs.db.commit();
  co_return empty_ok();
}

awaitable<Response> post_logout_all(Homeserver& hs, Request& r) {
  const auto& auth = require_auth(hs, r);
  {
    store::WriteUnit unit(hs.db);
    remove_all_devices(hs, unit, auth.user_id, std::nullopt);
    unit.release();
  }
  co_await hs.db.commit();
  co_return empty_ok();
}

}  // namespace

void register_auth_routes(http::Router& router, Homeserver& hs) {
  client_route(router, verb::post, "/register", [&hs](Request& r) { return post_register(hs, r); });
  client_route(router, verb::get, "/register/available", [&hs](Request& r) { return get_register_available(hs, r); });
  raw_route(router, verb::get, "/_matrix/client/v1/register/m.login.registration_token/validity",
            [&hs](Request& r) -> awaitable<Response> {
              auto token = r.query_param("token");
              if (!token) throw http::missing_param("missing 'token'");
              check_rate(hs, hs.register_limiter, ip_key(r));
              co_return Response::json(
                  {{"valid", !hs.config.registration.token.empty() && *token == hs.config.registration.token}});
            });
  client_route(router, verb::get, "/login", [](Request&) -> awaitable<Response> {
    co_return Response::json({{"flows", boost::json::array{boost::json::object{{"type", "m.login.password"}}}}});
  });
  client_route(router, verb::post, "/login", [&hs](Request& r) { return post_login(hs, r); });
  client_route(router, verb::post, "/logout", [&hs](Request& r) { return post_logout(hs, r); });
  client_route(router, verb::post, "/logout/all", [&hs](Request& r) { return post_logout_all(hs, r); });
  client_route(router, verb::get, "/account/whoami", [&hs](Request& r) -> awaitable<Response> {
    const auto& auth = require_auth(hs, r);
    co_return Response::json({{"user_id", auth.user_id}, {"device_id", auth.device_id}, {"is_guest", false}});
  });
}

}  // namespace lotse::api
