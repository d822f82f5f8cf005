// Encrypted attachments as the spec defines them (client-server API, "Sending encrypted attachments"):
// AES-256-CTR with a random key and a 64-bit random IV half, the SHA-256 of the ciphertext, and the
// `file` object (url, key as JWK, iv, hashes, v2) that goes into the encrypted event.
#pragma once
#include <boost/json.hpp>

#include <string>
#include <string_view>

namespace lotse::e2ee {

struct EncryptedAttachment {
  std::string ciphertext;
  boost::json::object file;  // without "url": add it after uploading the ciphertext
};

EncryptedAttachment encrypt_attachment(std::string_view plaintext);
// Checks the hash and decrypts; throws std::runtime_error when the hash or the key is wrong.
std::string decrypt_attachment(std::string_view ciphertext, const boost::json::object& file);

}  // namespace lotse::e2ee
