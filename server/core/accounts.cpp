// Account and device storage.
#include "server/core/accounts.hpp"

#include <chrono>

#include "e2ee/crypto.hpp"

namespace lotse::core {
namespace {
std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
std::string token_hash(const std::string& token) { return e2ee::base64_encode(e2ee::sha256(token)); }
}  // namespace

bool Accounts::user_exists(const std::string& user_id) {
  auto st = db_.conn().prepare("SELECT 1 FROM users WHERE user_id = ?");
  st.bind_all(user_id);
  return st.step();
}

std::optional<UserRecord> Accounts::find_user(const std::string& user_id) {
  auto st = db_.conn().prepare(
      "SELECT user_id, coalesce(password_hash, ''), deactivated, displayname, avatar_url, role, password_scheme "
      "FROM users WHERE user_id = ?");
  st.bind_all(user_id);
  if (!st.step()) return std::nullopt;
  return UserRecord{st.text(0), st.text(1), st.int64(2) != 0, st.opt_text(3), st.opt_text(4), st.text(5), st.opt_text(6)};
}

bool Accounts::is_imported(const std::string& user_id) {
  auto st = db_.conn().prepare("SELECT imported FROM users WHERE user_id = ?");
  st.bind_all(user_id);
  return st.step() && st.int64(0) != 0;
}

std::string Accounts::role(const std::string& user_id) {
  auto st = db_.conn().prepare("SELECT role FROM users WHERE user_id = ?");
  st.bind_all(user_id);
  return st.step() ? st.text(0) : "";
}

std::vector<UserRecord> Accounts::users_with_role(const std::string& role) {
  std::vector<UserRecord> out;
  auto st = db_.conn().prepare(
      "SELECT user_id, '', deactivated, displayname, avatar_url, role FROM users WHERE role = ? ORDER BY user_id");
  st.bind_all(role);
  while (st.step())
    out.push_back(UserRecord{st.text(0), st.text(1), st.int64(2) != 0, st.opt_text(3), st.opt_text(4), st.text(5), std::nullopt});
  return out;
}

void Accounts::create_user(store::WriteUnit&, const std::string& user_id, const std::string& password_hash,
                           const std::optional<std::string>& displayname, const std::string& role,
                           const std::optional<std::string>& password_scheme) {
  auto st = db_.conn().prepare(
      "INSERT INTO users (user_id, password_hash, created_ts, displayname, role, password_scheme) VALUES (?, ?, ?, ?, ?, ?)");
  st.bind_all(user_id, password_hash, now_ms(), displayname, role, password_scheme);
  st.run();
}

Session Accounts::open_session(store::WriteUnit&, const std::string& user_id, std::optional<std::string> device_id,
                               const std::optional<std::string>& display_name, const std::string& ip) {
  if (!device_id || device_id->empty()) device_id = e2ee::random_token(8);
  {
    auto st = db_.conn().prepare(
        "INSERT INTO devices (user_id, device_id, display_name, created_ts, last_seen_ts, last_seen_ip) "
        "VALUES (?1, ?2, ?3, ?4, ?4, ?5) ON CONFLICT (user_id, device_id) DO UPDATE SET "
        "display_name = coalesce(?3, display_name), last_seen_ts = ?4, last_seen_ip = ?5");
    st.bind_all(user_id, *device_id, display_name, now_ms(), ip);
    st.run();
  }
  // A re-used device id gets a fresh token; the old ones of that device are revoked.
  {
    auto st = db_.conn().prepare("DELETE FROM access_tokens WHERE user_id = ? AND device_id = ?");
    st.bind_all(user_id, *device_id);
    st.run();
  }
  std::string token = "lotse_" + e2ee::random_token(32);
  auto st = db_.conn().prepare("INSERT INTO access_tokens (token_hash, user_id, device_id) VALUES (?, ?, ?)");
  st.bind_all(token_hash(token), user_id, *device_id);
  st.run();
  return Session{user_id, *device_id, token};
}

std::optional<std::pair<std::string, std::string>> Accounts::authenticate(const std::string& token) {
  auto st = db_.conn().prepare("SELECT user_id, device_id FROM access_tokens WHERE token_hash = ?");
  st.bind_all(token_hash(token));
  if (!st.step()) return std::nullopt;
  return std::make_pair(st.text(0), st.text(1));
}

void Accounts::delete_token(store::WriteUnit&, const std::string& token) {
  auto st = db_.conn().prepare("DELETE FROM access_tokens WHERE token_hash = ?");
  st.bind_all(token_hash(token));
  st.run();
}

void Accounts::delete_device(store::WriteUnit&, const std::string& user_id, const std::string& device_id) {
  for (auto* sql : {"DELETE FROM access_tokens WHERE user_id = ? AND device_id = ?",
                    "DELETE FROM devices WHERE user_id = ? AND device_id = ?",
                    "DELETE FROM transactions WHERE user_id = ? AND device_id = ?",
                    "DELETE FROM pushers WHERE user_id = ? AND access_token_device = ?"}) {
    auto st = db_.conn().prepare(sql);
    st.bind_all(user_id, device_id);
    st.run();
  }
}

std::vector<DeviceInfo> Accounts::devices(const std::string& user_id) {
  std::vector<DeviceInfo> out;
  auto st = db_.conn().prepare(
      "SELECT device_id, display_name, last_seen_ts, last_seen_ip FROM devices WHERE user_id = ? ORDER BY device_id");
  st.bind_all(user_id);
  while (st.step())
    out.push_back(DeviceInfo{st.text(0), st.opt_text(1),
                             st.is_null(2) ? std::nullopt : std::optional<std::int64_t>(st.int64(2)), st.opt_text(3)});
  return out;
}

std::optional<DeviceInfo> Accounts::device(const std::string& user_id, const std::string& device_id) {
  for (auto& d : devices(user_id))
    if (d.device_id == device_id) return d;
  return std::nullopt;
}

bool Accounts::set_device_name(store::WriteUnit&, const std::string& user_id, const std::string& device_id,
                               const std::string& name) {
  auto st = db_.conn().prepare("UPDATE devices SET display_name = ? WHERE user_id = ? AND device_id = ?");
  st.bind_all(name, user_id, device_id);
  st.run();
  return db_.conn().changes() > 0;
}

void Accounts::set_password_hash(store::WriteUnit&, const std::string& user_id, const std::string& hash) {
  auto st = db_.conn().prepare("UPDATE users SET password_hash = ? WHERE user_id = ?");
  st.bind_all(hash, user_id);
  st.run();
}

void Accounts::set_password_scheme(store::WriteUnit&, const std::string& user_id, const std::optional<std::string>& scheme) {
  auto st = db_.conn().prepare("UPDATE users SET password_scheme = ? WHERE user_id = ?");
  st.bind_all(scheme, user_id);
  st.run();
}

void Accounts::set_password(store::WriteUnit&, const std::string& user_id, const std::string& hash,
                            const std::optional<std::string>& scheme) {
  auto st = db_.conn().prepare("UPDATE users SET password_hash = ?, password_scheme = ? WHERE user_id = ?");
  st.bind_all(hash, scheme, user_id);
  st.run();
}

void Accounts::deactivate(store::WriteUnit&, const std::string& user_id) {
  auto st = db_.conn().prepare(
      "UPDATE users SET deactivated = 1, password_hash = NULL, password_scheme = NULL, displayname = NULL, avatar_url = NULL "
      "WHERE user_id = ?");
  st.bind_all(user_id);
  st.run();
}

void Accounts::set_profile_field(store::WriteUnit&, const std::string& user_id, const std::string& field,
                                 const std::optional<std::string>& value) {
  std::string sql = field == "avatar_url" ? "UPDATE users SET avatar_url = ? WHERE user_id = ?"
                                          : "UPDATE users SET displayname = ? WHERE user_id = ?";
  auto st = db_.conn().prepare(sql);
  st.bind_all(value, user_id);
  st.run();
}

}  // namespace lotse::core
