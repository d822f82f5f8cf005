// The instance configuration (one TOML file per tenant), validated completely at start-up.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace lotse::config {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct RateLimit {
  double per_second;
  double burst;
};

struct Config {
  std::string server_name = "localhost";
  std::string listen_address = "127.0.0.1";
  std::uint16_t listen_port = 8008;
  std::string data_dir = "data";
  std::string public_baseurl;  // empty: http://<server_name>:<port>/ is not announced in .well-known

  struct {
    bool enabled = true;
    std::string token;  // when set, registration needs this token (m.login.registration_token)
    // What self-registered accounts are: "seeker" (the counseling rules: no rooms of their own, reach
    // only their consultations) or "user" (an ordinary Matrix user; for conformance suites such as
    // sytest, never for an instance seekers use).
    std::string role = "seeker";
  } registration;

  struct {
    std::string service_user = "lotse";        // localpart of the instance's service user
    std::int64_t max_open_consultations = 3;   // per seeker
    std::int64_t retention_days = 730;         // default for `lotse-admin retention purge`
  } counseling;

  struct {
    bool enabled = true;
    RateLimit registration{0.2, 5};    // per client IP
    RateLimit login{0.5, 10};          // per client IP
    RateLimit messages{20, 100};       // per user
    RateLimit media{2, 20};            // uploads per user
  } rate_limits;

  struct {
    std::string dir = "web-client/dist";  // the built PWA served at "/"; empty: not served
  } web_client;

  struct {
    std::string name = "Lotse";
    std::string primary_color = "#0b5cad";
    std::string logo_url;
    std::vector<std::string> languages{"de", "en", "ar", "fa", "ru", "uk", "tr"};
  } branding;

  struct {
    std::uint64_t max_upload_size = 100ull << 20;  // bytes per file
    std::uint64_t user_quota = 1ull << 30;         // bytes stored per user
  } media;

  struct {
    std::uint64_t max_request_body = 1 << 20;
  } limits;

  struct {
    // Open connections in all (also bounded by the process's descriptor limit) and per client
    // address; trusted proxies are not counted per address.
    std::int64_t max_connections = 20000;
    std::int64_t max_connections_per_ip = 512;
    // Peers whose X-Forwarded-For header names the client (rate limits, logs); none by default.
    std::vector<std::string> trusted_proxies;
  } http;

  struct {
    // The instance's TURN relay (coturn with use-auth-secret): GET /voip/turnServer hands out
    // credentials valid for ttl_seconds. No uris: no relay.
    std::vector<std::string> uris;
    std::string shared_secret;  // or read from shared_secret_file at start-up
    std::int64_t ttl_seconds = 86400;
  } turn;

  struct {
    // Web Push through the built-in gateway (server/push). Subscriptions may name only push services
    // whose host is listed ("host" exactly, ".example.com" for any subdomain); the defaults are the
    // services of Chrome/Android, Firefox, Safari and Edge.
    bool enabled = true;
    std::vector<std::string> endpoint_hosts{"fcm.googleapis.com", "updates.push.services.mozilla.com",
                                            "web.push.apple.com", ".notify.windows.com"};
    // Whether a push service may resolve to a loopback, private or link-local address (tests only).
    bool allow_private_endpoints = false;
    std::string ca_file;        // extra CA certificates (PEM) for the push services' TLS; system ones always
    std::string vapid_subject;  // "mailto:..." or "https://..." sent to push services; default mailto:postmaster@<server_name>
    std::int64_t max_in_flight = 2000;  // deliveries queued or running; beyond, new ones are dropped (logged)
  } push;

  struct {
    // E-mail digests through this SMTP server (submission); no host: none are sent.
    std::string host;
    std::int64_t port = 587;
    bool starttls = true;             // required before AUTH
    std::string ca_file;              // extra CA certificates (PEM) for the SMTP host's TLS; system ones always
    std::string user, password;       // password or password_file
    std::string from;                 // the envelope and header address, e.g. "noreply@beratung.example"
    std::int64_t interval_seconds = 3600;  // at most one digest per user per interval
    std::int64_t delay_seconds = 900;      // only messages still unread after this long count
    std::int64_t check_seconds = 60;       // how often the server looks
  } email;

  struct {
    // GET /metrics (Prometheus) on a listener of its own, never the public port.
    bool enabled = false;
    std::string listen_address = "127.0.0.1";
    std::uint16_t listen_port = 9108;  // 0 picks a free port (the start-up log says which)
  } metrics;

  struct {
    // "interactive" (libsodium's interactive argon2id limits) or "minimal" (for test suites only).
    std::string password_hash = "interactive";
  } security;
};

// Parses and validates; throws ConfigError naming the offending key.
Config load_config(const std::string& path);
Config parse_config(std::string_view toml_text, const std::string& source_name);
// The configuration `scripts/run` writes when data/lotse.toml does not exist.
std::string default_config_text(const std::string& data_dir);

}  // namespace lotse::config
