// The one-time request that creates the first administrator. `lotse-admin bootstrap --data-dir D`
// makes a random token, writes only its SHA-256 and an expiry into D/admin-bootstrap.request (0600)
// and sends the token to the server, which compares the hash, checks the expiry and deletes the
// file. No secret ever rests on disk, and nothing of it is reachable over HTTP: whoever can write
// into the data directory already owns the instance.
#pragma once
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "e2ee/crypto.hpp"

namespace lotse {

inline constexpr const char* kBootstrapRequestFile = "admin-bootstrap.request";
inline constexpr std::int64_t kBootstrapLifetimeMs = 10 * 60 * 1000;

struct BootstrapRequest {
  std::string token_sha256_hex;
  std::int64_t expires_ms = 0;

  static std::string hash(std::string_view token) {
    e2ee::Sha256 h;
    h.update(token);
    return h.hex_digest();
  }
  std::string format() const { return "lotse-bootstrap-v1 " + token_sha256_hex + " " + std::to_string(expires_ms) + "\n"; }
  static std::optional<BootstrapRequest> parse(const std::string& text) {
    std::istringstream in(text);
    std::string tag;
    BootstrapRequest r;
    if (!(in >> tag >> r.token_sha256_hex >> r.expires_ms) || tag != "lotse-bootstrap-v1" ||
        r.token_sha256_hex.size() != 64)
      return std::nullopt;
    return r;
  }
};

}  // namespace lotse
