// Primitives Matrix needs from libsodium: unpadded Base64, SHA-256, ed25519 keys and JSON signing.
#pragma once
#include <boost/json.hpp>
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace lotse::e2ee {

void init_crypto();  // sodium_init; safe to call more than once

std::string base64_encode(std::string_view bytes);         // standard alphabet, unpadded
std::string base64url_encode(std::string_view bytes);      // URL-safe alphabet, unpadded
std::optional<std::string> base64_decode(std::string_view text);  // accepts both, padded or not
std::string sha256(std::string_view bytes);                // raw 32 bytes
std::string random_bytes(std::size_t n);

// Incremental SHA-256 (streamed uploads).
class Sha256 {
 public:
  Sha256();
  void update(std::string_view bytes);
  std::string hex_digest();  // lower-case hex; call once

 private:
  alignas(16) unsigned char state_[128];
};
std::string random_token(std::size_t bytes);               // URL-safe base64 of random bytes
bool constant_time_equal(std::string_view a, std::string_view b);  // for secrets; sizes may differ

// An ed25519 signing key with its Matrix key id ("ed25519:<version>").
class SigningKey {
 public:
  SigningKey(std::string_view seed32, std::string key_id);
  static SigningKey generate(std::string key_id);
  const std::string& key_id() const { return key_id_; }
  std::string seed() const;                 // raw 32-byte seed, for persisting
  std::string public_key_base64() const;
  std::string sign(std::string_view message) const;  // unpadded base64 signature

 private:
  std::array<unsigned char, 64> secret_{};
  std::array<unsigned char, 32> public_{};
  std::string key_id_;
};

// Verifies an unpadded-base64 ed25519 signature with an unpadded-base64 public key.
bool verify_ed25519(std::string_view public_key_b64, std::string_view message, std::string_view signature_b64);

// Signs a JSON object per the spec: canonical JSON without `signatures` and `unsigned`,
// signature stored under signatures[entity][key_id]. Existing signatures are kept.
void sign_json(boost::json::object& object, std::string_view entity, const SigningKey& key);

// Checks signatures[entity][key_id] on `object` against the given public key.
bool verify_json(const boost::json::object& object, std::string_view entity, std::string_view key_id,
                 std::string_view public_key_b64);

}  // namespace lotse::e2ee
