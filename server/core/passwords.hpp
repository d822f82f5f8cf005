// Password hashes: argon2id (libsodium) for every password Lotse sets, and the two formats an import
// from the old system brings along (bcrypt, Keycloak's PBKDF2-SHA-256), verified until the first
// successful login replaces them with argon2id. Slow by design: call these off the network thread.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace lotse::core {

enum class PasswordCost { interactive, minimal };

std::string hash_password(std::string_view password, PasswordCost cost);
// True when `password` matches `hash` in any supported format; false for an unknown format.
bool verify_password(std::string_view hash, std::string_view password);

// A hash in a format Lotse only verifies (imported): replace it after the next successful check.
bool is_legacy_hash(std::string_view hash);

// Keycloak's pbkdf2-sha256 credential (base64 salt and derived key) in Lotse's stored form
// "$lotse-pbkdf2-sha256$<iterations>$<salt b64>$<key b64>"; nullopt when a part is malformed.
std::optional<std::string> pbkdf2_sha256_stored_hash(std::int64_t iterations, std::string_view salt_b64,
                                                     std::string_view key_b64);
// Whether an imported hash is one verify_password can check: "$2a$/$2b$/$2y$" bcrypt with a cost of
// 4..14, or the stored pbkdf2 form above with at most 1,000,000 iterations (argon2id strings are
// accepted too). Higher work factors are refused: they would let a few logins stall the server.
bool is_importable_hash(std::string_view hash);

}  // namespace lotse::core
