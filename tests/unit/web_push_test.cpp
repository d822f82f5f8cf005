// The push delivery's building blocks: base64url, the aes128gcm header layout (RFC 8188), the VAPID
// JWT's shape, URL parsing and the addresses the server refuses to connect to. Decryption by an
// independent implementation is in tests/integration/push.test.mjs.
#include <doctest/doctest.h>

#include <openssl/evp.h>

#include "server/push/https_client.hpp"
#include "server/push/web_push.hpp"

using namespace lotse::push;

TEST_CASE("base64url round trip, with and without padding; junk refused") {
  for (std::string s : std::initializer_list<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\xff\xfe\x00\x01", 4)})
    CHECK(base64url_decode(base64url_encode(s)) == s);
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK(base64url_decode("Zm9vYg==") == "foob");
  CHECK_THROWS_AS(base64url_decode("Zm9v!"), WebPushError);
  CHECK_THROWS_AS(base64url_decode("Z"), WebPushError);
}

TEST_CASE("aes128gcm: salt, record size 4096, the sender's key as key id, one record") {
  auto ua = VapidKey::generate();  // any P-256 key stands in for the browser's
  auto ua_public = base64url_decode(ua.public_key_base64url());
  auto body = encrypt_aes128gcm(R"({"room_id":"!r:x"})", ua_public, std::string(16, 'a'));
  REQUIRE(body.size() == 16 + 4 + 1 + 65 + 256 + 16);  // padded to 256
  // Payloads of different lengths look alike to the push service.
  CHECK(encrypt_aes128gcm(R"({"room_id":"!r:x","unread":12345,"prio":"high"})", ua_public, std::string(16, 'a')).size() == body.size());
  CHECK(body.substr(16, 4) == std::string("\x00\x00\x10\x00", 4));
  CHECK(static_cast<unsigned char>(body[20]) == 65);
  CHECK(body[21] == '\x04');
  // Each message has its own salt and key.
  CHECK(encrypt_aes128gcm("x", ua_public, std::string(16, 'a')).substr(0, 16) !=
        encrypt_aes128gcm("x", ua_public, std::string(16, 'a')).substr(0, 16));
  CHECK_THROWS_AS(encrypt_aes128gcm("x", std::string(65, '\x04'), std::string(16, 'a')), WebPushError);
  CHECK_THROWS_AS(encrypt_aes128gcm("x", ua_public, std::string(15, 'a')), WebPushError);
  CHECK_THROWS_AS(encrypt_aes128gcm(std::string(4000, 'x'), ua_public, std::string(16, 'a')), WebPushError);
}

TEST_CASE("VAPID: an ES256 JWT with a 64-byte signature and the public key") {
  auto key = VapidKey::generate();
  auto header = key.authorization("https://push.example", "mailto:ops@example.org", 1900000000);
  REQUIRE(header.rfind("vapid t=", 0) == 0);
  auto k = header.substr(header.find(", k=") + 4);
  CHECK(k == key.public_key_base64url());
  auto jwt = header.substr(8, header.find(", k=") - 8);
  auto first = jwt.find('.'), second = jwt.rfind('.');
  CHECK(base64url_decode(jwt.substr(0, first)) == R"({"typ":"JWT","alg":"ES256"})");
  CHECK(base64url_decode(jwt.substr(first + 1, second - first - 1)) ==
        R"({"aud":"https://push.example","exp":1900000000,"sub":"mailto:ops@example.org"})");
  CHECK(base64url_decode(jwt.substr(second + 1)).size() == 64);
}

TEST_CASE("https URLs: only https, no user info, ports checked, the origin for VAPID") {
  auto u = parse_https_url("https://FCM.googleapis.com/fcm/send/abc?x=1");
  REQUIRE(u);
  CHECK(u->host == "fcm.googleapis.com");
  CHECK(u->port == "443");
  CHECK(u->target == "/fcm/send/abc?x=1");
  CHECK(u->origin() == "https://fcm.googleapis.com");
  auto p = parse_https_url("https://127.0.0.1:8443");
  REQUIRE(p);
  CHECK(p->target == "/");
  CHECK(p->origin() == "https://127.0.0.1:8443");
  auto v6 = parse_https_url("https://[::1]:9/x");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->origin() == "https://[::1]:9");
  for (const char* bad : {"http://a/x", "https://", "https://user@host/x", "https://a:0/", "https://a:70000/",
                          "https://a:x/", "https://a/x#f", "https://a/ x", "https://a\\b/", "ftp://a"})
    CHECK_MESSAGE(!parse_https_url(bad), bad);
}

TEST_CASE("internal addresses are refused, public ones are not") {
  for (const char* ip : {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
                         "0.0.0.0", "100.64.0.1", "224.0.0.1", "::1", "::", "fe80::1", "fc00::1", "fd12::1",
                         "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::7f00:1", "64:ff9b::a00:1", "64:ff9b:1::1",
                         "2002:7f00:1::1", "2002:a00:1::1", "100::1", "192.0.0.8", "198.18.0.1", "203.0.113.5",
                         "2001:db8::1", "4000::1", "not an ip"})
    CHECK_MESSAGE(is_private_address(ip), ip);
  for (const char* ip : {"142.250.185.74", "172.32.0.1", "8.8.8.8", "2a00:1450:4001:80b::200a", "::ffff:8.8.8.8",
                         "2002:808:808::1"})
    CHECK_MESSAGE(!is_private_address(ip), ip);
}
