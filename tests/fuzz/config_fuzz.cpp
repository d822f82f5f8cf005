// The TOML config loader: any text either is refused with a ConfigError or yields a configuration
// that satisfies the validation rules; no other exception, no crash.
#include <string>

#include "fuzz_check.hpp"
#include "server/config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  lotse::config::Config c;
  try {
    c = lotse::config::parse_config(text, "fuzz.toml");
  } catch (const lotse::config::ConfigError& e) {
    FUZZ_CHECK(e.what()[0] != '\0', "a ConfigError without a message");
    return 0;
  }
  FUZZ_CHECK(!c.server_name.empty() && c.server_name.size() <= 255, "invalid server_name accepted");
  FUZZ_CHECK(!c.data_dir.empty(), "empty data_dir accepted");
  FUZZ_CHECK(c.public_baseurl.empty() || c.public_baseurl.rfind("http", 0) == 0, "public_baseurl without http(s)");
  FUZZ_CHECK(c.branding.primary_color.size() == 7 && c.branding.primary_color[0] == '#', "bad primary_color");
  FUZZ_CHECK(!c.branding.languages.empty(), "no languages");
  for (const auto& l : c.branding.languages) FUZZ_CHECK(l.size() == 2, "bad language code");
  for (auto r : {c.rate_limits.registration, c.rate_limits.login, c.rate_limits.messages, c.rate_limits.media})
    FUZZ_CHECK(r.per_second > 0 && r.burst > 0, "non-positive rate limit");
  FUZZ_CHECK(c.limits.max_request_body >= 65536 && c.limits.max_request_body <= (1u << 30), "max_request_body range");
  FUZZ_CHECK(c.counseling.max_open_consultations >= 1 && c.counseling.max_open_consultations <= 1000, "consultations");
  FUZZ_CHECK(c.counseling.retention_days >= 1 && c.counseling.retention_days <= 36500, "retention_days range");
  FUZZ_CHECK(!c.counseling.service_user.empty(), "empty service_user");
  FUZZ_CHECK(c.media.max_upload_size >= 1, "max_upload_size range");
  FUZZ_CHECK(c.security.password_hash == "interactive" || c.security.password_hash == "minimal", "password_hash");
  return 0;
}
