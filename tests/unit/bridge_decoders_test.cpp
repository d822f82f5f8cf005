// The bridge's decoders against the forms the old system's README documents, with values from its
// export (tests/fixtures/old-system, a copy of ../shared/data/old-system) where they exist.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "bridge/audio_duration.hpp"
#include "bridge/decoders.hpp"
#include "e2ee/safe_json.hpp"

using namespace lotse::bridge;

namespace {
const std::filesystem::path kExport = LOTSE_OLD_EXPORT_DIR;
std::string file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}
const char* kMaster = "ahnAvqT5uKfTsToEKBNWqZgn4tSkVd6h";
const char* kApp = "91a11ece0a86d60f612f6807519e71a35fec6a23";
}  // namespace

TEST_CASE("usernames: enc. + Base32 with '.' padding in either case, plain legacy names unchanged") {
  CHECK(decode_username("enc.NAXGC3DNMFZXE2I.") == "h.almasri");
  CHECK(decode_username("enc.naxgc3dnmfzxe2i.") == "h.almasri");  // Keycloak's lower-case copy
  CHECK(decode_username("leuchtturm1974") == "leuchtturm1974");
  CHECK(decode_username("enc.74......") == std::nullopt);  // the byte 0xFF: not UTF-8
  CHECK(decode_username("enc.2CPNBO6QWXIL3UFQL43TO...") == "Олена_77");  // the README's example
  CHECK(decode_username("enc.!!!!") == std::nullopt);
  CHECK(decode_username("enc.") == std::nullopt);
  CHECK(decode_username(std::string("\xff\xfe")) == std::nullopt);
  CHECK(base32_decode("MZXW6YTBOI======") == "foobar");
}

TEST_CASE("localparts follow the spec's suggested mapping; the PWA's key_recovery.js gives the same") {
  CHECK(localpart_for("h.almasri") == "h.almasri");
  CHECK(localpart_for("Anna") == "anna");
  CHECK(localpart_for("Олена_77") == "=d0=9e=d0=bb=d0=b5=d0=bd=d0=b0_77");
  CHECK(localpart_for("Şükrü 16") == "=c5=9e=c3=bckr=c3=bc=2016");
  CHECK(localpart_for("a=b") == "a=b");        // already a localpart
  CHECK(localpart_for("A=b") == "a=3db");      // mapped: '=' escaped
  CHECK(localpart_for("رضا_33") == "=d8=b1=d8=b6=d8=a7_33");
}

TEST_CASE("server-side encrypted texts: AES-128-ECB under SHA-1(master + room + app), then HTML entities once") {
  auto plain = decrypt_server_text(
      "enc:/2lGfyJubVlXbYeFoZuBd9kvX6I0plaLWZn24r4t/rxknaXNrW2pB/2RgFjrK6u+2Wz98guRmfFhfEWdFxW0GtWhlwU55nah1XOGNNSctdg6Yz8sIunJsICWboD4GoSTKWUb/O3Z1jQ0d9kdNgKEVLJQ3m5vWDYlBL3bfIEh1zE=",
      kMaster, "Qw2ciAcXgtXSACXsp", kApp);
  REQUIRE(plain);
  CHECK(*plain == "Bei nicht gezahltem Lohn k&ouml;nnen Sie sich an Faire Integration wenden; die Beratung ist kostenlos. (korrigiert)");
  CHECK(decode_html(*plain) == "Bei nicht gezahltem Lohn können Sie sich an Faire Integration wenden; die Beratung ist kostenlos. (korrigiert)");
  // The same ciphertext under another room's key does not decrypt (bad padding), it is not garbled.
  CHECK_FALSE(decrypt_server_text("enc:/2lGfyJubVlXbYeFoZuBd9kvX6I0plaLWZn24r4t/rxknaXNrW2pB/2RgFjrK6u+2Wz98guRmfFhfEWdFxW0GtWhlwU55nah1XOGNNSctdg6Yz8sIunJsICWboD4GoSTKWUb/O3Z1jQ0d9kdNgKEVLJQ3m5vWDYlBL3bfIEh1zE=",
                                  kMaster, "y3oJTQyPZqyM9jXBc", kApp));
  CHECK(decrypt_server_text("typed before encryption", kMaster, "r", kApp) == "typed before encryption");
  CHECK(decrypt_server_text("enc:", kMaster, "r", kApp) == "");
  CHECK_FALSE(decrypt_server_text("enc:not base64!", kMaster, "r", kApp));
  CHECK_FALSE(decrypt_server_text("enc:AAAA", kMaster, "r", kApp));
}

TEST_CASE("HTML entities: the HTML 4 names, numeric forms, decoded once, the rest left as written") {
  CHECK(decode_html("&auml;&szlig;&euro;&ndash;&bdquo;&ldquo;&#39;&quot;&lt;&gt;&amp;") == "äß€–„“'\"<>&");
  CHECK(decode_html("&#x1F600;&#128512;") == "😀😀");
  CHECK(decode_html("خانه&zwnj;ها") == "خانه\u200cها");
  CHECK(decode_html("&amp;lt;") == "&lt;");  // once
  CHECK(decode_html("AT&T &foo; & &#xD800; &#0; &#;") == "AT&T &foo; & &#xD800; &#0; &#;");
  CHECK(decode_html("&auml") == "&auml");
}

TEST_CASE("dates: Extended JSON, ISO with or without milliseconds, MariaDB datetimes") {
  CHECK(parse_iso_time("2019-11-09T22:37:53.277Z") == 1573339073277);
  CHECK(parse_iso_time("2019-11-09T22:37:53Z") == 1573339073000);
  CHECK(parse_iso_time("1970-01-01T00:00:00.000Z") == 0);
  CHECK_FALSE(parse_iso_time("2019-13-09T22:37:53Z"));
  CHECK_FALSE(parse_iso_time("2019-11-09 22:37:53"));
  CHECK(parse_sql_datetime("2019-11-09 22:37:53") == 1573339073000);
  CHECK_FALSE(parse_sql_datetime("2019-11-09"));
  auto v = lotse::e2ee::parse_limited(R"({"$date": "2024-05-03T14:12:41.296Z"})");
  CHECK(extended_json_date(&v) == 1714745561296);
  auto n = lotse::e2ee::parse_limited(R"({"$date": {"$numberLong": "1714745561296"}})");
  CHECK(extended_json_date(&n) == 1714745561296);
  CHECK(iso_time(1573339073277) == "2019-11-09T22:37:53.277Z");
}

TEST_CASE("event aliases: form-encoded JSON") {
  CHECK(form_url_decode("%7B%22messageType%22%3A%22FURTHER_STEPS%22%7D") == R"({"messageType":"FURTHER_STEPS"})");
  CHECK(form_url_decode("a+b%C3%A4") == "a bä");
  CHECK_FALSE(form_url_decode("%zz"));
  CHECK_FALSE(form_url_decode("%4"));
}

TEST_CASE("old end-to-end encryption: a tmp. room key opens with the member's id and decrypts the room's messages") {
  // Session 1269: the member m2hpH8frF8kbmgjFB holds a tmp. key; the room's e2eKeyId is N0hjMW5qQm5q.
  std::string e2e_key;
  std::ifstream subs(kExport / "mongo" / "rocketchat_subscription.json");
  for (std::string line; std::getline(subs, line);)
    if (line.find("\"m2hpH8frF8kbmgjFB\"") != std::string::npos && line.find("tmp.") != std::string::npos) {
      auto o = lotse::e2ee::parse_limited(line).as_object();
      e2e_key = std::string(o.at("E2EKey").as_string());
    }
  REQUIRE(!e2e_key.empty());
  auto jwk = open_tmp_room_key(e2e_key, "m2hpH8frF8kbmgjFB");
  REQUIRE(jwk);
  CHECK(room_key_id(*jwk) == "N0hjMW5qQm5q");
  CHECK_FALSE(open_tmp_room_key(e2e_key, "someoneElse00000"));
  auto key = room_key_bytes(*jwk);
  REQUIRE(key);
  const std::string msg =
      "N0hjMW5qQm5q853cb7abe1aee766f03f640c3b3de8a4626d0619a71643a8d04cdf42b33e0c6d57f4239189b2622c8c7695d08d7bf6d1fe79897a1ef6c6d5e616f447be418863edc99d1c7738e52a943e74cfc5ddbbe1..v2-0";
  CHECK(e2e_key_id(msg) == "N0hjMW5qQm5q");
  CHECK(decrypt_e2e(msg, *key) == "المهلة أربعة أسابيع، لا تتأخر.");
  CHECK_FALSE(decrypt_e2e(msg, std::string(16, 'x')));
  CHECK_FALSE(decrypt_e2e("N0hjMW5qQm5qzz..v2-0", *key));
}

TEST_CASE("voice message durations from Ogg Opus and from WebM without a Duration element") {
  // Values from answers.json.
  CHECK(std::abs(*audio_duration_ms("audio/ogg", file(kExport / "uploads" / "rHWkrzutNwNqXAmaE.ogg")) - 2400) <= 60);
  CHECK(std::abs(*audio_duration_ms("audio/ogg", file(kExport / "uploads" / "45QyHgDuDJ6Wf7iAj.ogg")) - 1300) <= 60);
  CHECK(std::abs(*audio_duration_ms("audio/webm", file(kExport / "uploads" / "Rr4P48o3R5MuacWMQ.webm")) - 3600) <= 60);
  CHECK(std::abs(*audio_duration_ms("audio/webm", file(kExport / "uploads" / "ynBxpjenxcmovpWHu.webm")) - 1300) <= 60);
  CHECK_FALSE(audio_duration_ms("audio/webm", "not a webm"));
  CHECK_FALSE(audio_duration_ms("audio/ogg", "OggS"));
  CHECK_FALSE(audio_duration_ms("application/pdf", file(kExport / "uploads" / "3ez8Qj6baG4xFaQhE.pdf")));
  // Truncated files never read past their end.
  auto webm = file(kExport / "uploads" / "Rr4P48o3R5MuacWMQ.webm");
  for (std::size_t n = 0; n < webm.size(); n += 37) (void)webm_duration_ms(std::string_view(webm).substr(0, n));
  auto ogg = file(kExport / "uploads" / "rHWkrzutNwNqXAmaE.ogg");
  for (std::size_t n = 0; n < ogg.size(); n += 37) (void)ogg_opus_duration_ms(std::string_view(ogg).substr(0, n));
}

TEST_CASE("agency postal-code ranges become the shortest exact list of prefixes") {
  CHECK(postcode_prefixes("10115", "10179") ==
        std::vector<std::string>{"10115", "10116", "10117", "10118", "10119", "1012", "1013", "1014", "1015", "1016", "1017"});
  CHECK(postcode_prefixes("20000", "29999") == std::vector<std::string>{"2"});
  CHECK(postcode_prefixes("00000", "99999") == std::vector<std::string>{""});
  CHECK(postcode_prefixes("01067", "01067") == std::vector<std::string>{"01067"});
  CHECK(postcode_prefixes("50667", "51149") == std::vector<std::string>{"50667", "50668", "50669", "5067", "5068", "5069", "507", "508", "509",
                                                                      "510", "5110", "5111", "5112", "5113", "5114"});
  CHECK(postcode_prefixes("2", "3").empty());
  CHECK(postcode_prefixes("30000", "20000").empty());
}
