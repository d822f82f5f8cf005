// Decoders of the old system's stored forms; OpenSSL for AES, SHA-1, SHA-256 and MD5.
#include "bridge/decoders.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <memory>

#include "bridge/html_entities.hpp"
#include "e2ee/crypto.hpp"
#include "e2ee/safe_json.hpp"

namespace lotse::bridge {
namespace {

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> hex_decode(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

std::string hex_encode(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// AES decryption with PKCS#7 padding; nullopt when the key is wrong (bad padding) or sizes are off.
std::optional<std::string> aes_decrypt(const EVP_CIPHER* cipher, std::string_view key, std::string_view iv,
                                       std::string_view data) {
  if (data.empty() || data.size() % 16) return std::nullopt;
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (!ctx) return std::nullopt;
  auto k = reinterpret_cast<const unsigned char*>(key.data());
  auto v = iv.empty() ? nullptr : reinterpret_cast<const unsigned char*>(iv.data());
  if (EVP_DecryptInit_ex(ctx.get(), cipher, nullptr, k, v) != 1) return std::nullopt;
  std::string out(data.size() + 16, '\0');
  int n1 = 0, n2 = 0;
  if (EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n1,
                        reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size())) != 1)
    return std::nullopt;
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + n1, &n2) != 1) return std::nullopt;
  out.resize(static_cast<std::size_t>(n1 + n2));
  return out;
}

std::string digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), n);
}

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// "YYYY-MM-DD?HH:MM:SS" with `sep` between date and time.
std::optional<std::int64_t> parse_date_time(std::string_view s, char sep, std::size_t& pos) {
  int y, mo, d, h, mi, se;
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || s[10] != sep || s[13] != ':' || s[16] != ':') return std::nullopt;
  if (!digits(s, 0, 4, y) || !digits(s, 5, 2, mo) || !digits(s, 8, 2, d) || !digits(s, 11, 2, h) ||
      !digits(s, 14, 2, mi) || !digits(s, 17, 2, se))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  pos = 19;
  return ((days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 24 + h) * 60 + mi) * 60000LL +
         se * 1000LL;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (std::size_t k = 1; k < n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 2) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n;
  }
  return true;
}

std::optional<std::string> base32_decode(std::string_view text) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t end = text.size();
  while (end > 0 && text[end - 1] == '=') --end;
  if (text.size() - end > 6) return std::nullopt;
  for (std::size_t i = 0; i < end; ++i) {
    char c = text[i];
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a';
    else if (c >= '2' && c <= '7') v = c - '2' + 26;
    else return std::nullopt;
    acc = (acc << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

std::optional<std::string> decode_username(std::string_view stored) {
  if (!stored.starts_with("enc.")) return is_valid_utf8(stored) ? std::optional<std::string>(stored) : std::nullopt;
  std::string b32(stored.substr(4));
  for (auto& c : b32)
    if (c == '.') c = '=';
  auto name = base32_decode(b32);
  if (!name || name->empty() || !is_valid_utf8(*name)) return std::nullopt;
  return name;
}

std::string localpart_for(std::string_view name) {
  static const char* digits = "0123456789abcdef";
  auto valid = [](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '/' || c == '+';
  };
  // Already a localpart: unchanged (the PWA does the same, so mapping twice changes nothing).
  if (!name.empty() && std::all_of(name.begin(), name.end(), [&](char c) { return valid(static_cast<unsigned char>(c)) || c == '='; }))
    return std::string(name);
  std::string out;
  for (unsigned char c : name) {
    if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '/' || c == '+') {
      out += static_cast<char>(c);
    } else {
      out += '=';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

bool is_server_encrypted(std::string_view msg) { return msg.starts_with("enc:"); }

std::optional<std::string> decrypt_server_text(std::string_view msg, std::string_view master_key,
                                               std::string_view room_id, std::string_view app_key) {
  if (!is_server_encrypted(msg)) return std::string(msg);
  auto data = e2ee::base64_decode(msg.substr(4));
  if (!data) return std::nullopt;
  if (data->empty()) return std::string();
  std::string material = std::string(master_key) + std::string(room_id) + std::string(app_key);
  auto key = digest(EVP_sha1(), material).substr(0, 16);
  auto plain = aes_decrypt(EVP_aes_128_ecb(), key, {}, *data);
  if (!plain || !is_valid_utf8(*plain)) return std::nullopt;
  return plain;
}

std::string decode_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '&') {
      out += text[i++];
      continue;
    }
    auto semi = text.find(';', i + 1);
    if (semi == std::string_view::npos || semi - i > 12) {
      out += text[i++];
      continue;
    }
    auto ref = text.substr(i + 1, semi - i - 1);
    std::optional<char32_t> code;
    if (ref.size() > 1 && ref[0] == '#') {
      bool hex = ref[1] == 'x' || ref[1] == 'X';
      auto num = ref.substr(hex ? 2 : 1);
      std::uint32_t v = 0;
      auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v, hex ? 16 : 10);
      if (!num.empty() && ec == std::errc() && p == num.data() + num.size() && v > 0 && v <= 0x10FFFF &&
          (v < 0xD800 || v > 0xDFFF))
        code = v;
    } else {
      code = html4_entity(ref);
    }
    if (!code) {
      out += text[i++];
      continue;
    }
    append_utf8(out, *code);
    i = semi + 1;
  }
  return out;
}

std::optional<std::int64_t> parse_iso_time(std::string_view text) {
  std::size_t pos = 0;
  auto ms = parse_date_time(text, 'T', pos);
  if (!ms) return std::nullopt;
  if (pos < text.size() && text[pos] == '.') {
    std::size_t start = ++pos;
    int frac = 0, n = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (n < 3) frac = frac * 10 + (text[pos] - '0'), ++n;
      ++pos;
    }
    if (pos == start) return std::nullopt;
    while (n < 3) frac *= 10, ++n;
    *ms += frac;
  }
  if (pos != text.size() - 1 || text[pos] != 'Z') return std::nullopt;
  return ms;
}

std::optional<std::int64_t> extended_json_date(const boost::json::value* v) {
  if (!v || !v->is_object()) return std::nullopt;
  auto* d = v->as_object().if_contains("$date");
  if (!d) return std::nullopt;
  if (d->is_string()) return parse_iso_time(d->get_string());
  if (d->is_int64()) return d->get_int64();
  if (d->is_object())
    if (auto* n = d->as_object().if_contains("$numberLong"); n && n->is_string()) {
      std::int64_t out = 0;
      std::string_view s = n->get_string();
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
      if (ec == std::errc() && p == s.data() + s.size()) return out;
    }
  return std::nullopt;
}

std::optional<std::int64_t> parse_sql_datetime(std::string_view text) {
  std::size_t pos = 0;
  auto ms = parse_date_time(text, ' ', pos);
  if (!ms || pos != text.size()) return std::nullopt;
  return ms;
}

std::string iso_time(std::int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000 - (ms % 1000 < 0 ? 1 : 0));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(((ms % 1000) + 1000) % 1000));
  return buf;
}

std::optional<std::string> form_url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = hex_value(text[i + 1]), lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::string> open_tmp_room_key(std::string_view e2e_key, std::string_view rc_user_id) {
  if (!e2e_key.starts_with("tmp.") || e2e_key.size() < 4 + 12) return std::nullopt;
  auto blob = e2ee::base64_decode(e2e_key.substr(4 + 12));
  if (!blob || blob->size() < 32 || !blob->starts_with("Salted__")) return std::nullopt;
  std::string salt = blob->substr(8, 8);
  std::string passphrase = hex_encode(digest(EVP_sha256(), rc_user_id));
  unsigned char key[32], iv[16];
  if (EVP_BytesToKey(EVP_aes_256_cbc(), EVP_md5(), reinterpret_cast<const unsigned char*>(salt.data()),
                     reinterpret_cast<const unsigned char*>(passphrase.data()), static_cast<int>(passphrase.size()), 1,
                     key, iv) != 32)
    return std::nullopt;
  auto jwk = aes_decrypt(EVP_aes_256_cbc(), std::string_view(reinterpret_cast<char*>(key), 32),
                         std::string_view(reinterpret_cast<char*>(iv), 16), std::string_view(*blob).substr(16));
  if (!jwk || !room_key_bytes(*jwk)) return std::nullopt;
  return jwk;
}

namespace {
std::optional<std::string> jwk_k(std::string_view jwk_text) {
  try {
    auto v = e2ee::parse_limited(jwk_text);
    if (!v.is_object()) return std::nullopt;
    auto* k = v.as_object().if_contains("k");
    auto* kty = v.as_object().if_contains("kty");
    if (!k || !k->is_string() || !kty || *kty != "oct") return std::nullopt;
    return std::string(k->get_string());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}
}  // namespace

std::optional<std::string> room_key_bytes(std::string_view jwk_text) {
  auto k = jwk_k(jwk_text);
  if (!k) return std::nullopt;
  auto key = e2ee::base64_decode(*k);
  if (!key || key->size() != 16) return std::nullopt;
  return key;
}

std::optional<std::string> room_key_id(std::string_view jwk_text) {
  auto k = jwk_k(jwk_text);
  if (!k) return std::nullopt;
  std::string b64 = e2ee::base64_encode(*k);
  if (b64.size() < 12) return std::nullopt;
  return b64.substr(0, 12);
}

std::optional<std::string> e2e_key_id(std::string_view msg) {
  if (msg.size() < 12 + 64 + 6 || !msg.ends_with("..v2-0")) return std::nullopt;
  return std::string(msg.substr(0, 12));
}

std::optional<std::string> decrypt_e2e(std::string_view msg, std::string_view key) {
  if (!e2e_key_id(msg) || key.size() != 16) return std::nullopt;
  auto bytes = hex_decode(msg.substr(12, msg.size() - 12 - 6));
  if (!bytes || bytes->size() < 32) return std::nullopt;
  return aes_decrypt(EVP_aes_128_cbc(), key, std::string_view(*bytes).substr(0, 16), std::string_view(*bytes).substr(16));
}

std::vector<std::string> postcode_prefixes(std::string_view from, std::string_view to) {
  auto five = [](std::string_view s) { return s.size() == 5 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }); };
  std::vector<std::string> out;
  if (!five(from) || !five(to)) return out;
  long lo = std::stol(std::string(from)), hi = std::stol(std::string(to));
  while (lo <= hi) {
    // the largest block of 10^k codes that starts at lo and ends within the range
    int k = 0;
    long size = 1;
    while (k < 5 && lo % (size * 10) == 0 && lo + size * 10 - 1 <= hi) ++k, size *= 10;
    char buf[8];
    std::snprintf(buf, sizeof buf, "%05ld", lo);
    out.emplace_back(buf, static_cast<std::size_t>(5 - k));
    lo += size;
  }
  return out;
}

}  // namespace lotse::bridge
