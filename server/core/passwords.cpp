// argon2id via crypto_pwhash_str ("minimal" exists only so test suites can register many users fast);
// bcrypt through libxcrypt's crypt_rn; PBKDF2-HMAC-SHA-256 through OpenSSL.
#include "server/core/passwords.hpp"

#include <crypt.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <charconv>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "e2ee/crypto.hpp"

namespace lotse::core {
namespace {

constexpr std::string_view kPbkdf2Prefix = "$lotse-pbkdf2-sha256$";
// Caps on imported work factors: a hash with a higher one (bcrypt 2^31 rounds take hours) would let
// two login attempts occupy the whole hashing pool. Keycloak used 27,500 and cost 10.
constexpr std::int64_t kMaxPbkdf2Iterations = 1'000'000;
constexpr int kMaxBcryptCost = 14;

bool is_bcrypt(std::string_view h) {
  // "$2b$10$" + 53 characters of bcrypt's base64 (22 salt + 31 hash)
  if (h.size() != 60 || h[0] != '$' || h[1] != '2' || h[3] != '$' || h[6] != '$') return false;
  if (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') return false;
  if (h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9') return false;
  int cost = (h[4] - '0') * 10 + (h[5] - '0');
  if (cost < 4 || cost > kMaxBcryptCost) return false;
  for (char c : h.substr(7))
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '/')) return false;
  return true;
}

struct Pbkdf2 {
  int iterations;
  std::string salt, key;
};

std::optional<Pbkdf2> parse_pbkdf2(std::string_view h) {
  if (!h.starts_with(kPbkdf2Prefix)) return std::nullopt;
  h.remove_prefix(kPbkdf2Prefix.size());
  auto d1 = h.find('$');
  if (d1 == std::string_view::npos) return std::nullopt;
  auto d2 = h.find('$', d1 + 1);
  if (d2 == std::string_view::npos) return std::nullopt;
  std::int64_t it = 0;
  auto [p, ec] = std::from_chars(h.data(), h.data() + d1, it);
  if (ec != std::errc() || p != h.data() + d1 || it < 1 || it > kMaxPbkdf2Iterations) return std::nullopt;
  auto salt = e2ee::base64_decode(h.substr(d1 + 1, d2 - d1 - 1));
  auto key = e2ee::base64_decode(h.substr(d2 + 1));
  if (!salt || !key || salt->empty() || key->size() < 16 || key->size() > 128) return std::nullopt;
  return Pbkdf2{static_cast<int>(it), *salt, *key};
}

bool verify_bcrypt(std::string_view hash, std::string_view password) {
  // bcrypt reads at most 72 bytes and stops at NUL: a password with NUL must not match a prefix.
  if (password.find('\0') != std::string_view::npos) return false;
  std::string h(hash), pw(password);
  crypt_data data{};
  const char* out = crypt_rn(pw.c_str(), h.c_str(), &data, sizeof data);
  bool ok = false;
  if (out && out[0] != '*') {
    std::string_view result(out);  // points into `data`: compare before wiping it
    ok = result.size() == h.size() && sodium_memcmp(result.data(), h.data(), h.size()) == 0;
  }
  sodium_memzero(&data, sizeof data);
  sodium_memzero(pw.data(), pw.size());
  return ok;
}

bool verify_pbkdf2(const Pbkdf2& p, std::string_view password) {
  std::vector<unsigned char> out(p.key.size());
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(p.salt.data()), static_cast<int>(p.salt.size()),
                        p.iterations, EVP_sha256(), static_cast<int>(out.size()), out.data()) != 1)
    return false;
  bool ok = sodium_memcmp(out.data(), p.key.data(), out.size()) == 0;
  sodium_memzero(out.data(), out.size());
  return ok;
}

}  // namespace

std::string hash_password(std::string_view password, PasswordCost cost) {
  char out[crypto_pwhash_STRBYTES];
  unsigned long long ops = cost == PasswordCost::interactive ? crypto_pwhash_OPSLIMIT_INTERACTIVE : crypto_pwhash_OPSLIMIT_MIN;
  size_t mem = cost == PasswordCost::interactive ? crypto_pwhash_MEMLIMIT_INTERACTIVE : 64 * 1024;
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw std::runtime_error("password hashing ran out of memory");
  return out;
}

bool verify_password(std::string_view hash, std::string_view password) {
  if (is_bcrypt(hash)) return verify_bcrypt(hash, password);
  if (auto p = parse_pbkdf2(hash)) return verify_pbkdf2(*p, password);
  if (!hash.starts_with("$argon2")) return false;
  std::string h(hash);
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

bool is_legacy_hash(std::string_view hash) { return is_bcrypt(hash) || parse_pbkdf2(hash).has_value(); }

std::optional<std::string> pbkdf2_sha256_stored_hash(std::int64_t iterations, std::string_view salt_b64,
                                                     std::string_view key_b64) {
  std::string s = std::string(kPbkdf2Prefix) + std::to_string(iterations) + "$" + std::string(salt_b64) + "$" +
                  std::string(key_b64);
  if (!parse_pbkdf2(s)) return std::nullopt;
  return s;
}

bool is_importable_hash(std::string_view hash) {
  return is_bcrypt(hash) || parse_pbkdf2(hash).has_value() || hash.starts_with("$argon2id$");
}

}  // namespace lotse::core
