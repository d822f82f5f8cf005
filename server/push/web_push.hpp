// Web Push message encryption (RFC 8291, the aes128gcm content coding of RFC 8188) and VAPID
// (RFC 8292, ES256 JWTs), with OpenSSL. No I/O here except the VAPID key file.
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace lotse::push {

struct WebPushError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string base64url_encode(std::string_view bytes);
// Accepts padded or unpadded base64url; throws WebPushError on anything else.
std::string base64url_decode(std::string_view text);

// Encrypts `plaintext` for a subscription: `ua_public` is the browser's P-256 key (65 bytes,
// uncompressed), `auth_secret` its 16-byte secret. Returns the request body (header + one record,
// padded to a multiple of 256 bytes so its length says nothing about the content).
// `key_checked`: the key passed the full check before (at registration), which is then skipped.
std::string encrypt_aes128gcm(std::string_view plaintext, std::string_view ua_public, std::string_view auth_secret,
                              bool key_checked = false);

// The application server's VAPID key pair (P-256).
class VapidKey {
 public:
  // Reads the PEM private key at `path`, or creates one there (mode 0600) when it does not exist.
  static VapidKey load_or_create(const std::string& path);
  static VapidKey generate();
  VapidKey(VapidKey&&) noexcept;
  VapidKey& operator=(VapidKey&&) noexcept;
  ~VapidKey();

  // The public key as 65 raw bytes, base64url (what PushManager.subscribe takes as applicationServerKey).
  const std::string& public_key_base64url() const { return public_b64_; }
  // "vapid t=<JWT>, k=<public key>" for a push service origin ("https://host[:port]").
  std::string authorization(const std::string& audience, const std::string& subject, std::int64_t expires_at) const;
  // An ES256 JWT over `claims_json` (compact serialisation).
  std::string sign_jwt(const std::string& claims_json) const;

 private:
  struct Impl;
  explicit VapidKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string public_b64_;
};

}  // namespace lotse::push
