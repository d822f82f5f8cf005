// libsodium-backed implementations of the primitives in crypto.hpp.
#include "e2ee/crypto.hpp"

#include <sodium.h>

#include <cstring>
#include <stdexcept>

#include "e2ee/canonical_json.hpp"

namespace lotse::e2ee {

void init_crypto() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

namespace {
std::string encode(std::string_view bytes, int variant) {
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    variant);
  out.resize(std::strlen(out.c_str()));
  return out;
}
}  // namespace

std::string base64_encode(std::string_view bytes) { return encode(bytes, sodium_base64_VARIANT_ORIGINAL_NO_PADDING); }
std::string base64url_encode(std::string_view bytes) { return encode(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING); }

std::optional<std::string> base64_decode(std::string_view text) {
  // Lenient like the spec asks: either alphabet, padding optional, non-zero trailing bits accepted.
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+' || c == '-') v = 62;
    else if (c == '/' || c == '_') v = 63;
    else return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string sha256(std::string_view bytes) {
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size());
  return out;
}

static_assert(sizeof(crypto_hash_sha256_state) <= 128, "Sha256 state buffer too small");

Sha256::Sha256() { crypto_hash_sha256_init(reinterpret_cast<crypto_hash_sha256_state*>(state_)); }

void Sha256::update(std::string_view bytes) {
  crypto_hash_sha256_update(reinterpret_cast<crypto_hash_sha256_state*>(state_),
                            reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

std::string Sha256::hex_digest() {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(reinterpret_cast<crypto_hash_sha256_state*>(state_), digest);
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  randombytes_buf(out.data(), n);
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return a.empty() || sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_token(std::size_t bytes) { return base64url_encode(random_bytes(bytes)); }

SigningKey::SigningKey(std::string_view seed32, std::string key_id) : key_id_(std::move(key_id)) {
  if (seed32.size() != crypto_sign_SEEDBYTES) throw std::invalid_argument("ed25519 seed must be 32 bytes");
  crypto_sign_seed_keypair(public_.data(), secret_.data(), reinterpret_cast<const unsigned char*>(seed32.data()));
}

SigningKey SigningKey::generate(std::string key_id) { return SigningKey(random_bytes(32), std::move(key_id)); }

std::string SigningKey::seed() const {
  std::string out(crypto_sign_SEEDBYTES, '\0');
  crypto_sign_ed25519_sk_to_seed(reinterpret_cast<unsigned char*>(out.data()), secret_.data());
  return out;
}

std::string SigningKey::public_key_base64() const {
  return base64_encode(std::string_view(reinterpret_cast<const char*>(public_.data()), public_.size()));
}

std::string SigningKey::sign(std::string_view message) const {
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       secret_.data());
  return base64_encode(std::string_view(reinterpret_cast<const char*>(sig), sizeof sig));
}

bool verify_ed25519(std::string_view public_key_b64, std::string_view message, std::string_view signature_b64) {
  auto pk = base64_decode(public_key_b64);
  auto sig = base64_decode(signature_b64);
  if (!pk || !sig || pk->size() != crypto_sign_PUBLICKEYBYTES || sig->size() != crypto_sign_BYTES) return false;
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                     reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                     reinterpret_cast<const unsigned char*>(pk->data())) == 0;
}

namespace {
std::string signable_bytes(const boost::json::object& object) {
  boost::json::object copy = object;
  copy.erase("signatures");
  copy.erase("unsigned");
  return canonical_json(copy);
}
}  // namespace

void sign_json(boost::json::object& object, std::string_view entity, const SigningKey& key) {
  std::string signature = key.sign(signable_bytes(object));
  auto& sigs = object["signatures"];
  if (!sigs.is_object()) sigs = boost::json::object{};
  auto& mine = sigs.as_object()[entity];
  if (!mine.is_object()) mine = boost::json::object{};
  mine.as_object()[key.key_id()] = signature;
}

bool verify_json(const boost::json::object& object, std::string_view entity, std::string_view key_id,
                 std::string_view public_key_b64) {
  auto* sigs = object.if_contains("signatures");
  if (!sigs || !sigs->is_object()) return false;
  auto* mine = sigs->as_object().if_contains(entity);
  if (!mine || !mine->is_object()) return false;
  auto* sig = mine->as_object().if_contains(key_id);
  if (!sig || !sig->is_string()) return false;
  return verify_ed25519(public_key_b64, signable_bytes(object), sig->get_string());
}

}  // namespace lotse::e2ee
