// TURN REST API credentials (see turn_credentials.hpp), with OpenSSL's HMAC.
#include "server/core/turn_credentials.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

#include "e2ee/crypto.hpp"

namespace lotse::core {

TurnCredentials turn_credentials(const std::string& shared_secret, const std::string& user_id, std::int64_t expiry_unix) {
  TurnCredentials c;
  c.username = std::to_string(expiry_unix) + ":" + user_id;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha1(), shared_secret.data(), static_cast<int>(shared_secret.size()),
            reinterpret_cast<const unsigned char*>(c.username.data()), c.username.size(), mac, &len))
    throw std::runtime_error("HMAC-SHA1 failed");
  // Standard, padded Base64 as coturn computes it.
  std::string b64 = e2ee::base64_encode(std::string(reinterpret_cast<char*>(mac), len));
  while (b64.size() % 4) b64 += '=';
  c.password = b64;
  return c;
}

}  // namespace lotse::core
