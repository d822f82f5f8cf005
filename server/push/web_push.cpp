// Web Push encryption (RFC 8291 / RFC 8188) and VAPID (RFC 8292) with OpenSSL 3.
#include "server/push/web_push.hpp"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <vector>

namespace lotse::push {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};

[[noreturn]] void fail(const char* what) { throw WebPushError(std::string("web push: ") + what); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[32];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), out, &len))
    fail("HMAC failed");
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) fail("no randomness");
  return out;
}

Pkey generate_p256() {
  // One key generation context for the thread: EVP_EC_gen looks the algorithm up every time.
  thread_local std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx = [] {
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> c(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    if (!c || EVP_PKEY_keygen_init(c.get()) != 1 || EVP_PKEY_CTX_set_group_name(c.get(), "P-256") != 1) c.reset();
    return c;
  }();
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen(ctx.get(), &raw) != 1) fail("cannot generate a P-256 key");
  return Pkey(raw);
}

std::string raw_public(EVP_PKEY* key) {
  unsigned char* buf = nullptr;
  auto len = EVP_PKEY_get1_encoded_public_key(key, &buf);
  if (len != 65 || !buf) {
    OPENSSL_free(buf);
    fail("unexpected public key encoding");
  }
  std::string out(reinterpret_cast<char*>(buf), len);
  OPENSSL_free(buf);
  return out;
}

// A P-256 public key from its uncompressed encoding; throws when it is not a point on the curve.
Pkey public_from_raw(std::string_view raw, EVP_PKEY* same_group) {
  if (raw.size() != 65 || raw[0] != 0x04) fail("the subscription key is not an uncompressed P-256 point");
  Pkey peer(EVP_PKEY_new());
  if (!peer || EVP_PKEY_copy_parameters(peer.get(), same_group) != 1 ||
      EVP_PKEY_set1_encoded_public_key(peer.get(), reinterpret_cast<const unsigned char*>(raw.data()), raw.size()) != 1)
    fail("the subscription key is not a valid P-256 point");
  return peer;
}

// `validate`: the full public key check (about as costly as the derivation itself); needed once for
// a subscription's key, when it is registered.
std::string ecdh(EVP_PKEY* ours, EVP_PKEY* peer, bool validate) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new(ours, nullptr));
  std::size_t len = 0;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer_ex(ctx.get(), peer, validate ? 1 : 0) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1)
    fail("ECDH failed");
  std::string secret(len, '\0');
  if (EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(secret.data()), &len) != 1) fail("ECDH failed");
  secret.resize(len);
  return secret;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::uint32_t buf = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 6) out += kAlphabet[(buf >> (bits -= 6)) & 0x3F];
  }
  if (bits > 0) out += kAlphabet[(buf << (6 - bits)) & 0x3F];
  return out;
}

std::string base64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  std::uint32_t buf = 0;
  int bits = 0;
  for (char c : text) {
    int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '-' || c == '+' ? 62 : c == '_' || c == '/' ? 63 : -1;
    if (v < 0) throw WebPushError("not base64url");
    buf = (buf << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) out += static_cast<char>((buf >> (bits -= 8)) & 0xFF);
  }
  if (bits >= 6) throw WebPushError("not base64url");
  return out;
}

std::string encrypt_aes128gcm(std::string_view plaintext, std::string_view ua_public, std::string_view auth_secret,
                              bool key_checked) {
  if (auth_secret.size() != 16) fail("the subscription's auth secret must be 16 bytes");
  if (plaintext.size() > 3993) fail("payload too large for one record");  // 4096 - 16 tag - 86 header - 1
  auto as_key = generate_p256();
  auto peer = public_from_raw(ua_public, as_key.get());
  const auto as_public = raw_public(as_key.get());
  const auto secret = ecdh(as_key.get(), peer.get(), !key_checked);

  // RFC 8291 section 3.4: the input keying material from the ECDH secret and the auth secret.
  auto prk_key = hmac_sha256(auth_secret, secret);
  std::string key_info = std::string("WebPush: info") + '\0' + std::string(ua_public) + as_public + '\x01';
  auto ikm = hmac_sha256(prk_key, key_info);
  // RFC 8188 section 2.2: content encryption key and nonce from a random salt.
  auto salt = random_bytes(16);
  auto prk = hmac_sha256(salt, ikm);
  auto cek = hmac_sha256(prk, std::string("Content-Encoding: aes128gcm") + '\0' + '\x01').substr(0, 16);
  auto nonce = hmac_sha256(prk, std::string("Content-Encoding: nonce") + '\0' + '\x01').substr(0, 12);

  // The last (and only) record's delimiter, then zeros up to a multiple of 256 bytes: the push
  // service sees the same length whatever the room id, unread count or priority (RFC 8188 padding).
  std::string record(plaintext);
  record += '\x02';
  record.resize(std::min<std::size_t>((record.size() + 255) / 256 * 256, 4096 - 86 - 16), '\0');  // body <= 4096
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  std::string cipher(record.size() + 16, '\0');
  int len = 0, tail = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, reinterpret_cast<const unsigned char*>(cek.data()),
                         reinterpret_cast<const unsigned char*>(nonce.data())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(cipher.data()), &len,
                        reinterpret_cast<const unsigned char*>(record.data()), static_cast<int>(record.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(cipher.data()) + len, &tail) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16,
                          reinterpret_cast<unsigned char*>(cipher.data()) + len + tail) != 1)
    fail("AES-GCM failed");

  std::string body = salt;
  const std::uint32_t rs = 4096;
  for (int shift = 24; shift >= 0; shift -= 8) body += static_cast<char>((rs >> shift) & 0xFF);
  body += static_cast<char>(as_public.size());
  body += as_public;
  body += cipher;
  return body;
}

struct VapidKey::Impl {
  Pkey key;
};

VapidKey::VapidKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  public_b64_ = base64url_encode(raw_public(impl_->key.get()));
}
VapidKey::VapidKey(VapidKey&&) noexcept = default;
VapidKey& VapidKey::operator=(VapidKey&&) noexcept = default;
VapidKey::~VapidKey() = default;

VapidKey VapidKey::generate() { return VapidKey(std::make_unique<Impl>(Impl{generate_p256()})); }

VapidKey VapidKey::load_or_create(const std::string& path) {
  if (FILE* f = std::fopen(path.c_str(), "r")) {
    Pkey key(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr));
    std::fclose(f);
    if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC) throw WebPushError("unreadable VAPID key " + path);
    return VapidKey(std::make_unique<Impl>(Impl{std::move(key)}));
  }
  auto created = generate();
  auto old_mask = ::umask(077);
  FILE* f = std::fopen(path.c_str(), "wx");
  ::umask(old_mask);
  if (!f) throw WebPushError("cannot create the VAPID key " + path);
  bool ok = PEM_write_PrivateKey(f, created.impl_->key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
  ok = std::fflush(f) == 0 && ok;
  std::fclose(f);
  if (!ok) throw WebPushError("cannot write the VAPID key " + path);
  return created;
}

std::string VapidKey::sign_jwt(const std::string& claims_json) const {
  std::string signing_input = base64url_encode(R"({"typ":"JWT","alg":"ES256"})") + "." + base64url_encode(claims_json);
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  std::size_t len = 0;
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, impl_->key.get()) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1)
    fail("ES256 signing failed");
  std::vector<unsigned char> der(len);
  if (EVP_DigestSign(md.get(), der.data(), &len, reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1)
    fail("ES256 signing failed");
  // JWS wants r || s (32 bytes each), OpenSSL gives DER.
  const unsigned char* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
  if (!sig) fail("ES256 signature unreadable");
  std::array<unsigned char, 64> raw{};
  const BIGNUM *r = nullptr, *s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  bool ok = BN_bn2binpad(r, raw.data(), 32) == 32 && BN_bn2binpad(s, raw.data() + 32, 32) == 32;
  ECDSA_SIG_free(sig);
  if (!ok) fail("ES256 signature too long");
  return signing_input + "." + base64url_encode(std::string_view(reinterpret_cast<char*>(raw.data()), raw.size()));
}

std::string VapidKey::authorization(const std::string& audience, const std::string& subject,
                                    std::int64_t expires_at) const {
  // The values are ours or a parsed origin; they are JSON-escaped by hand only for '"' and '\\'.
  auto esc = [](const std::string& s) {
    std::string o;
    for (char c : s) {
      if (c == '"' || c == '\\') o += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) o += c;
    }
    return o;
  };
  std::string claims = "{\"aud\":\"" + esc(audience) + "\",\"exp\":" + std::to_string(expires_at) + ",\"sub\":\"" +
                       esc(subject) + "\"}";
  return "vapid t=" + sign_jwt(claims) + ", k=" + public_b64_;
}

}  // namespace lotse::push
