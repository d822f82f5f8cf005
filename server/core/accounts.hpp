// Accounts, devices and access tokens (only token hashes are stored).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/store/database.hpp"

namespace lotse::core {

struct Session {
  std::string user_id;
  std::string device_id;
  std::string access_token;
};

struct DeviceInfo {
  std::string device_id;
  std::optional<std::string> display_name;
  std::optional<std::int64_t> last_seen_ts;
  std::optional<std::string> last_seen_ip;
};

struct UserRecord {
  std::string user_id;
  std::string password_hash;
  bool deactivated = false;
  std::optional<std::string> displayname;
  std::optional<std::string> avatar_url;
  std::string role = "seeker";  // seeker | counselor | admin | service
  // How the client formed the password (schemas/0012): nullopt = as typed, "derived-v1" = the web
  // app's derived login secret.
  std::optional<std::string> password_scheme;
};

class Accounts {
 public:
  explicit Accounts(store::Database& db) : db_(db) {}

  bool user_exists(const std::string& user_id);
  std::optional<UserRecord> find_user(const std::string& user_id);
  // `password_scheme`: how the client formed the password (see UserRecord); nullopt = as typed.
  void create_user(store::WriteUnit&, const std::string& user_id, const std::string& password_hash,
                   const std::optional<std::string>& displayname, const std::string& role = "seeker",
                   const std::optional<std::string>& password_scheme = std::nullopt);
  std::string role(const std::string& user_id);
  // Whether lotse-bridge created the account (users.imported, schema 0006).
  bool is_imported(const std::string& user_id);
  // All users with a role, ordered by user id.
  std::vector<UserRecord> users_with_role(const std::string& role);
  // Creates (or reuses) a device and issues a new access token for it.
  Session open_session(store::WriteUnit&, const std::string& user_id, std::optional<std::string> device_id,
                       const std::optional<std::string>& display_name, const std::string& ip);
  // The (user, device) owning a token, or nullopt; updates last-seen at most once a minute.
  std::optional<std::pair<std::string, std::string>> authenticate(const std::string& token);

  void delete_token(store::WriteUnit&, const std::string& token);
  void delete_device(store::WriteUnit&, const std::string& user_id, const std::string& device_id);
  std::vector<DeviceInfo> devices(const std::string& user_id);
  std::optional<DeviceInfo> device(const std::string& user_id, const std::string& device_id);
  bool set_device_name(store::WriteUnit&, const std::string& user_id, const std::string& device_id,
                       const std::string& name);
  // The same password in a new hash (an imported hash replaced, stronger parameters): the scheme stays.
  void set_password_hash(store::WriteUnit&, const std::string& user_id, const std::string& hash);
  // A new password, with how the client formed it.
  void set_password(store::WriteUnit&, const std::string& user_id, const std::string& hash,
                    const std::optional<std::string>& scheme);
  void set_password_scheme(store::WriteUnit&, const std::string& user_id, const std::optional<std::string>& scheme);
  // Clears the password and profile; the caller removes the devices first.
  void deactivate(store::WriteUnit&, const std::string& user_id);
  void set_profile_field(store::WriteUnit&, const std::string& user_id, const std::string& field,
                         const std::optional<std::string>& value);

 private:
  store::Database& db_;
};

}  // namespace lotse::core
