// Password hashes: argon2id, and the imported bcrypt and Keycloak PBKDF2-SHA-256 forms, checked with
// accounts and passwords of the old system's export (answers.json).
#include <doctest/doctest.h>

#include "server/core/passwords.hpp"

using namespace lotse::core;

TEST_CASE("bcrypt hashes from Keycloak verify their password and nothing else") {
  // h.almasri and leuchtturm1974 in the export (cost 10, $2b$).
  const std::string h1 = "$2b$10$qrdzH3r7CrYm7e1U1gl0ZOdDLfdI2gYcH7sSJtcHAVUCSmqhkhmPq";
  const std::string h2 = "$2b$10$ylK.134T83nrPIg.8Ma2D.fQxGfc4IaWCYJXwsZt13JjqTMFn3kzi";
  CHECK(verify_password(h1, "Freiheitblume206#"));
  CHECK(verify_password(h2, "Anfangberlin7898%"));
  CHECK_FALSE(verify_password(h1, "Freiheitblume206"));
  CHECK_FALSE(verify_password(h1, "Anfangberlin7898%"));
  CHECK_FALSE(verify_password(h1, std::string("Freiheitblume206#\0x", 19)));  // NUL must not cut the password
  CHECK(is_legacy_hash(h1));
  CHECK(is_importable_hash(h1));
  CHECK_FALSE(is_importable_hash("$2b$10$short"));
  CHECK_FALSE(is_importable_hash("$2b$99$qrdzH3r7CrYm7e1U1gl0ZOdDLfdI2gYcH7sSJtcHAVUCSmqhkhmPq"));
  CHECK_FALSE(is_importable_hash("$2b$31$qrdzH3r7CrYm7e1U1gl0ZOdDLfdI2gYcH7sSJtcHAVUCSmqhkhmPq"));  // hours per check
  CHECK_FALSE(verify_password("$2b$31$qrdzH3r7CrYm7e1U1gl0ZOdDLfdI2gYcH7sSJtcHAVUCSmqhkhmPq", "x"));
  CHECK_FALSE(verify_password("$2x$10$qrdzH3r7CrYm7e1U1gl0ZOdDLfdI2gYcH7sSJtcHAVUCSmqhkhmPq", "Freiheitblume206#"));
}

TEST_CASE("Keycloak's pbkdf2-sha256 credential verifies in Lotse's stored form") {
  // Leyla.20 in the export: 27,500 iterations, 64-byte key.
  auto stored = pbkdf2_sha256_stored_hash(27500, "Go535fYNJ647BZZKhqPtcQ==",
                                          "+dacY7utq9tARnH5MmdGJPU1YLbdZYDGBVcRGNGAXnoCv8HjaGG0ui++AARNFo6mhSiwlJaPKdhfrCyyRQEhiw==");
  REQUIRE(stored);
  CHECK(verify_password(*stored, "Größe376-"));
  CHECK_FALSE(verify_password(*stored, "Grösse376-"));
  CHECK(is_legacy_hash(*stored));
  CHECK_FALSE(pbkdf2_sha256_stored_hash(0, "c2FsdA==", "+dacY7utq9tARnH5MmdGJPU1YLbdZYDG"));
  CHECK_FALSE(pbkdf2_sha256_stored_hash(27500, "not base64!", "+dacY7utq9tARnH5MmdGJPU1YLbdZYDG"));
  CHECK_FALSE(pbkdf2_sha256_stored_hash(100'000'000, "c2FsdA==", "+dacY7utq9tARnH5MmdGJPU1YLbdZYDG"));
  CHECK_FALSE(pbkdf2_sha256_stored_hash(2'000'000, "c2FsdA==", "+dacY7utq9tARnH5MmdGJPU1YLbdZYDG"));
}

TEST_CASE("argon2id stays the format of every password Lotse sets") {
  auto h = hash_password("correct horse", PasswordCost::minimal);
  CHECK(h.starts_with("$argon2id$"));
  CHECK(verify_password(h, "correct horse"));
  CHECK_FALSE(verify_password(h, "correct horsE"));
  CHECK_FALSE(is_legacy_hash(h));
  CHECK_FALSE(verify_password("", "anything"));
  CHECK_FALSE(verify_password("plaintext", "plaintext"));
}
