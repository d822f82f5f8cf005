// The bridge's decoders of old-system data (bridge/decoders.hpp, bridge/audio_duration.hpp): none
// crashes or reads past its input on anything an export could hold. Properties: decoding HTML, form
// values and Base32 never grows the text; a mapped localpart holds only localpart characters and maps
// to itself again; a decoded username is valid UTF-8.
// Input: the first byte picks the decoder, the rest is its input.
#include <string>

#include "bridge/audio_duration.hpp"
#include "bridge/decoders.hpp"
#include "fuzz_check.hpp"

using namespace lotse::bridge;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 9) {
    case 0: {
      auto out = decode_html(in);
      FUZZ_CHECK(out.size() <= in.size(), "HTML decoding never grows a text");
      break;
    }
    case 1: {
      auto out = form_url_decode(in);
      FUZZ_CHECK(!out || out->size() <= in.size(), "form decoding never grows a text");
      break;
    }
    case 2: {
      auto name = decode_username(in);
      FUZZ_CHECK(!name || is_valid_utf8(*name), "decoded usernames are UTF-8");
      if (auto b = base32_decode(in)) FUZZ_CHECK(b->size() <= in.size(), "Base32 shrinks");
      break;
    }
    case 3: {
      auto lp = localpart_for(in);
      for (char c : lp)
        FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '=' || c == '-' || c == '/' || c == '+',
                   "localpart characters only");
      FUZZ_CHECK(lp.empty() || localpart_for(lp) == lp, "mapping twice changes nothing");
      break;
    }
    case 4:
      (void)decrypt_server_text(in, "ahnAvqT5uKfTsToEKBNWqZgn4tSkVd6h", "Qw2ciAcXgtXSACXsp", "91a11ece0a86d60f612f6807519e71a35fec6a23");
      break;
    case 5:
      (void)open_tmp_room_key(in, "m2hpH8frF8kbmgjFB");
      (void)room_key_bytes(in);
      (void)room_key_id(in);
      break;
    case 6:
      (void)decrypt_e2e(in, std::string(16, 'k'));
      (void)e2e_key_id(in);
      break;
    case 7:
      (void)parse_iso_time(in);
      (void)parse_sql_datetime(in);
      break;
    case 8:
      (void)ogg_opus_duration_ms(in);
      (void)webm_duration_ms(in);
      break;
  }
  return 0;
}
