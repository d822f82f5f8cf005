// Decoders for what the old system stored (README of the export): encoded usernames, server-side
// encrypted texts, HTML-escaped texts, dates, URL-encoded event aliases, and the room keys and
// ciphertexts of its client-side end-to-end encryption. Each returns nullopt for input it cannot
// decode instead of guessing.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

namespace lotse::bridge {

// "enc." + RFC 4648 Base32 (any case, '.' for '=') of the UTF-8 name -> the name; a name without the
// prefix (carried over from an earlier system) is returned unchanged. nullopt when the Base32 or the
// UTF-8 inside is broken.
std::optional<std::string> decode_username(std::string_view stored);
std::optional<std::string> base32_decode(std::string_view text);
bool is_valid_utf8(std::string_view s);

// The Matrix localpart for a name, by the spec's suggested mapping (appendices, "Mapping from other
// character sets"): ASCII letters lower-cased, bytes outside [a-z0-9._/+-] and '=' written as "=xx";
// a name that is a valid localpart already stays as it is. The PWA applies the same mapping to what
// a seeker types at login (web-client/src/key_recovery.js, localpart).
std::string localpart_for(std::string_view name);

// A server-side encrypted text: "enc:" + Base64 of AES-128-ECB (PKCS#5) with the key
// SHA-1(master_key + room_id + app_key)[0:16]. A text without the prefix is returned as is (it was
// stored before encryption was switched on); nullopt when the ciphertext does not decrypt.
std::optional<std::string> decrypt_server_text(std::string_view msg, std::string_view master_key,
                                               std::string_view room_id, std::string_view app_key);
bool is_server_encrypted(std::string_view msg);

// Decodes HTML character references once: the 252 HTML 4 names, &#NNN; and &#xHH;. Anything that is
// not a complete, known reference stays as written.
std::string decode_html(std::string_view text);

// "2024-05-03T14:12:41.296Z" (milliseconds optional) -> ms since the epoch.
std::optional<std::int64_t> parse_iso_time(std::string_view text);
// MongoDB Extended JSON {"$date": "..."} (or {"$date": {"$numberLong": "..."}}) -> ms.
std::optional<std::int64_t> extended_json_date(const boost::json::value* v);
// MariaDB "YYYY-MM-DD HH:MM:SS" in UTC -> ms.
std::optional<std::int64_t> parse_sql_datetime(std::string_view text);
// The reverse, for reports and answers: ms -> "2024-05-03T14:12:41.296Z".
std::string iso_time(std::int64_t ms);

// application/x-www-form-urlencoded value -> bytes ('+' is a space); nullopt for a bad %-escape.
std::optional<std::string> form_url_decode(std::string_view text);

// The room key of a member whose E2EKey has the "tmp." form: tmp. + key id (12) + Base64 of an
// OpenSSL "Salted__" blob, AES-256-CBC with EVP_BytesToKey(MD5, 1 round) of the passphrase
// hex(SHA-256(rc_user_id)). Returns the room key JWK text; nullopt for any other form or failure.
std::optional<std::string> open_tmp_room_key(std::string_view e2e_key, std::string_view rc_user_id);
// The 16-byte AES key of a room key JWK ({"alg":"A128CBC","k":...}); nullopt if it is not one.
std::optional<std::string> room_key_bytes(std::string_view jwk_text);
// The key id the old client put in front of messages: the first 12 characters of Base64(k).
std::optional<std::string> room_key_id(std::string_view jwk_text);
// An end-to-end encrypted message or upload text: key id (12) + hex(IV 16 ‖ AES-128-CBC, PKCS#7) +
// "..v2-0". Returns the plaintext bytes when `key` (16 bytes) opens it.
std::optional<std::string> decrypt_e2e(std::string_view msg, std::string_view key);
// The key id at the front of such a text, if it has that form.
std::optional<std::string> e2e_key_id(std::string_view msg);

// The shortest list of postal-code prefixes that covers exactly the range [from, to] of five-digit
// codes ("10115".."10179" -> 10115..10119, 1012..1017); empty when either end is not five digits or
// from > to.
std::vector<std::string> postcode_prefixes(std::string_view from, std::string_view to);

}  // namespace lotse::bridge
