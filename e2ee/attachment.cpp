// AES-256-CTR through OpenSSL; keys from libsodium's random source.
#include "e2ee/attachment.hpp"

#include <openssl/evp.h>

#include <limits>
#include <memory>
#include <stdexcept>

#include "e2ee/crypto.hpp"

namespace lotse::e2ee {
namespace {

std::string ctr(std::string_view key, std::string_view iv, std::string_view in) {
  if (in.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) throw std::runtime_error("attachment larger than 2 GiB");
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(in.size(), '\0');
  int n = 0, m = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_ctr(), nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                                 reinterpret_cast<const unsigned char*>(iv.data())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n,
                        reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + n, &m) != 1)
    throw std::runtime_error("AES-256-CTR failed");
  return out;
}

}  // namespace

EncryptedAttachment encrypt_attachment(std::string_view plaintext) {
  auto key = random_bytes(32);
  // The counter half of the IV starts at zero, so a file may be up to 2^64 blocks long.
  auto iv = random_bytes(8) + std::string(8, '\0');
  EncryptedAttachment out;
  out.ciphertext = ctr(key, iv, plaintext);
  out.file = boost::json::object{
      {"key", {{"kty", "oct"}, {"key_ops", boost::json::array{"encrypt", "decrypt"}}, {"alg", "A256CTR"},
               {"k", base64url_encode(key)}, {"ext", true}}},
      {"iv", base64_encode(iv)},
      {"hashes", {{"sha256", base64_encode(sha256(out.ciphertext))}}},
      {"v", "v2"}};
  return out;
}

std::string decrypt_attachment(std::string_view ciphertext, const boost::json::object& file) {
  auto str = [](const boost::json::value* v) { return v && v->is_string() ? std::string(v->get_string()) : std::string(); };
  const auto* key = file.if_contains("key");
  const auto* hashes = file.if_contains("hashes");
  if (!key || !key->is_object() || !hashes || !hashes->is_object()) throw std::runtime_error("attachment without key or hashes");
  auto k = base64_decode(str(key->as_object().if_contains("k")));
  auto iv = base64_decode(str(file.if_contains("iv")));
  auto hash = base64_decode(str(hashes->as_object().if_contains("sha256")));
  if (!k || k->size() != 32 || !iv || iv->size() != 16 || !hash) throw std::runtime_error("attachment key or iv malformed");
  if (sha256(ciphertext) != *hash) throw std::runtime_error("attachment hash mismatch");
  return ctr(*k, *iv, ciphertext);
}

}  // namespace lotse::e2ee
