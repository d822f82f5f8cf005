// Time-limited TURN credentials in the "TURN REST API" scheme that coturn's use-auth-secret
// understands: username "<expiry unix seconds>:<user id>", password base64(HMAC-SHA1(secret, username)).
#pragma once
#include <cstdint>
#include <string>

namespace lotse::core {

struct TurnCredentials {
  std::string username;
  std::string password;
};

TurnCredentials turn_credentials(const std::string& shared_secret, const std::string& user_id, std::int64_t expiry_unix);

}  // namespace lotse::core
