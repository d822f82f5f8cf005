// TOML parsing with toml++: every key is checked, unknown keys and bad values stop start-up.
#include "server/config/config.hpp"

#include <toml++/toml.h>

#include <arpa/inet.h>

#include <fstream>
#include <set>
#include <sstream>

namespace lotse::config {
namespace {

// An address for the From header: one "@", nothing that could end or fold a header line.
bool valid_from_address(const std::string& a) {
  if (a.size() < 3 || a.size() > 254 || a.find('@') == std::string::npos || a.find('@') != a.rfind('@')) return false;
  for (unsigned char c : a)
    if (c <= 0x20 || c >= 0x7F || c == '<' || c == '>' || c == '"' || c == ',' || c == ';' || c == '\\') return false;
  return true;
}

[[noreturn]] void fail(const std::string& key, const std::string& what) {
  throw ConfigError("config key '" + key + "': " + what);
}

void check_keys(const toml::table& table, const std::string& prefix, const std::set<std::string>& allowed) {
  for (const auto& [k, v] : table) {
    std::string key(k.str());
    if (!allowed.count(key)) fail(prefix + key, "unknown key");
  }
}

std::string get_string(const toml::table& t, const std::string& prefix, const char* key, std::string def) {
  auto node = t[key];
  if (!node) return def;
  auto v = node.value<std::string>();
  if (!v || !node.is_string()) fail(prefix + key, "must be a string");
  return *v;
}

bool get_bool(const toml::table& t, const std::string& prefix, const char* key, bool def) {
  auto node = t[key];
  if (!node) return def;
  if (!node.is_boolean()) fail(prefix + key, "must be true or false");
  return *node.value<bool>();
}

std::int64_t get_int(const toml::table& t, const std::string& prefix, const char* key, std::int64_t def,
                     std::int64_t min, std::int64_t max) {
  auto node = t[key];
  if (!node) return def;
  if (!node.is_integer()) fail(prefix + key, "must be an integer");
  auto v = *node.value<std::int64_t>();
  if (v < min || v > max) fail(prefix + key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return v;
}

double get_number(const toml::table& t, const std::string& prefix, const char* key, double def) {
  auto node = t[key];
  if (!node) return def;
  if (!node.is_number()) fail(prefix + key, "must be a number");
  double v = *node.value<double>();
  if (!(v > 0)) fail(prefix + key, "must be positive");
  return v;
}

const toml::table* sub_table(const toml::table& t, const char* key) {
  auto node = t[key];
  if (!node) return nullptr;
  if (!node.is_table()) fail(key, "must be a table ([" + std::string(key) + "])");
  return node.as_table();
}

RateLimit get_rate(const toml::table& t, const std::string& prefix, const char* key, RateLimit def) {
  auto node = t[key];
  if (!node) return def;
  if (!node.is_table()) fail(prefix + key, "must be a table with per_second and burst");
  const auto& rt = *node.as_table();
  std::string p = prefix + key + ".";
  check_keys(rt, p, {"per_second", "burst"});
  return RateLimit{get_number(rt, p, "per_second", def.per_second), get_number(rt, p, "burst", def.burst)};
}

bool valid_server_name(const std::string& s) {
  if (s.empty() || s.size() > 255) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
      return false;
  return true;
}

}  // namespace

Config parse_config(std::string_view text, const std::string& source_name) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << source_name << ": " << e.description() << " at line " << e.source().begin.line;
    throw ConfigError(os.str());
  }
  Config c;
  check_keys(root, "", {"server_name", "listen_address", "listen_port", "data_dir", "public_baseurl", "registration",
                        "rate_limits", "limits", "http", "metrics", "turn", "push", "email", "security", "media",
                        "counseling", "web_client", "branding"});
  c.server_name = get_string(root, "", "server_name", c.server_name);
  if (!valid_server_name(c.server_name)) fail("server_name", "is not a valid Matrix server name");
  c.listen_address = get_string(root, "", "listen_address", c.listen_address);
  c.listen_port = static_cast<std::uint16_t>(get_int(root, "", "listen_port", c.listen_port, 0, 65535));
  c.data_dir = get_string(root, "", "data_dir", c.data_dir);
  if (c.data_dir.empty()) fail("data_dir", "must not be empty");
  c.public_baseurl = get_string(root, "", "public_baseurl", c.public_baseurl);
  if (!c.public_baseurl.empty() && c.public_baseurl.rfind("http://", 0) != 0 && c.public_baseurl.rfind("https://", 0) != 0)
    fail("public_baseurl", "must start with http:// or https://");

  if (auto* t = sub_table(root, "registration")) {
    check_keys(*t, "registration.", {"enabled", "token", "role"});
    c.registration.enabled = get_bool(*t, "registration.", "enabled", c.registration.enabled);
    c.registration.token = get_string(*t, "registration.", "token", c.registration.token);
    c.registration.role = get_string(*t, "registration.", "role", c.registration.role);
    if (c.registration.role != "seeker" && c.registration.role != "user")
      fail("registration.role", "must be \"seeker\" or \"user\"");
  }
  if (auto* t = sub_table(root, "rate_limits")) {
    std::string p = "rate_limits.";
    check_keys(*t, p, {"enabled", "registration", "login", "messages", "media"});
    c.rate_limits.enabled = get_bool(*t, p, "enabled", c.rate_limits.enabled);
    c.rate_limits.registration = get_rate(*t, p, "registration", c.rate_limits.registration);
    c.rate_limits.login = get_rate(*t, p, "login", c.rate_limits.login);
    c.rate_limits.messages = get_rate(*t, p, "messages", c.rate_limits.messages);
    c.rate_limits.media = get_rate(*t, p, "media", c.rate_limits.media);
  }
  if (auto* t = sub_table(root, "limits")) {
    check_keys(*t, "limits.", {"max_request_body"});
    c.limits.max_request_body = static_cast<std::uint64_t>(
        get_int(*t, "limits.", "max_request_body", static_cast<std::int64_t>(c.limits.max_request_body), 65536,
                std::int64_t{1} << 30));
  }
  if (auto* t = sub_table(root, "http")) {
    std::string p = "http.";
    check_keys(*t, p, {"max_connections", "max_connections_per_ip", "trusted_proxies"});
    c.http.max_connections = get_int(*t, p, "max_connections", c.http.max_connections, 16, 10'000'000);
    c.http.max_connections_per_ip = get_int(*t, p, "max_connections_per_ip", c.http.max_connections_per_ip, 1, 10'000'000);
    if (auto node = (*t)["trusted_proxies"]) {
      auto* arr = node.as_array();
      if (!arr) fail("http.trusted_proxies", "must be a list of IP addresses");
      for (const auto& v : *arr) {
        auto ip = v.value<std::string>();
        unsigned char buf[16];
        if (!ip || (::inet_pton(AF_INET, ip->c_str(), buf) != 1 && ::inet_pton(AF_INET6, ip->c_str(), buf) != 1))
          fail("http.trusted_proxies", "entries must be IP addresses such as \"127.0.0.1\"");
        c.http.trusted_proxies.push_back(*ip);
      }
    }
  }
  if (auto* t = sub_table(root, "turn")) {
    std::string p = "turn.";
    check_keys(*t, p, {"uris", "shared_secret", "shared_secret_file", "ttl"});
    if (auto node = (*t)["uris"]) {
      auto* arr = node.as_array();
      if (!arr) fail("turn.uris", "must be a list of turn: or turns: URIs");
      for (const auto& v : *arr) {
        auto u = v.value<std::string>();
        if (!u || (u->rfind("turn:", 0) != 0 && u->rfind("turns:", 0) != 0))
          fail("turn.uris", "entries must start with turn: or turns:");
        c.turn.uris.push_back(*u);
      }
    }
    c.turn.shared_secret = get_string(*t, p, "shared_secret", "");
    auto file = get_string(*t, p, "shared_secret_file", "");
    if (!file.empty()) {
      if (!c.turn.shared_secret.empty()) fail("turn.shared_secret_file", "give shared_secret or shared_secret_file, not both");
      std::ifstream in(file);
      if (!in) fail("turn.shared_secret_file", "cannot read " + file);
      std::getline(in, c.turn.shared_secret);
      while (!c.turn.shared_secret.empty() && (c.turn.shared_secret.back() == '\r' || c.turn.shared_secret.back() == ' '))
        c.turn.shared_secret.pop_back();
    }
    c.turn.ttl_seconds = get_int(*t, p, "ttl", c.turn.ttl_seconds, 60, 7 * 86400);
    if (!c.turn.uris.empty() && c.turn.shared_secret.size() < 16)
      fail("turn.shared_secret", "needs at least 16 characters (the secret coturn's static-auth-secret has)");
  }
  if (auto* t = sub_table(root, "push")) {
    std::string p = "push.";
    check_keys(*t, p, {"enabled", "endpoint_hosts", "allow_private_endpoints", "ca_file", "vapid_subject", "max_in_flight"});
    c.push.enabled = get_bool(*t, p, "enabled", c.push.enabled);
    if (auto node = (*t)["endpoint_hosts"]) {
      auto* arr = node.as_array();
      if (!arr) fail("push.endpoint_hosts", "must be a list of host names");
      c.push.endpoint_hosts.clear();
      for (const auto& v : *arr) {
        auto h = v.value<std::string>();
        if (!h || h->empty() || h->size() > 253 || h->find_first_of("/:@ ") != std::string::npos)
          fail("push.endpoint_hosts", "entries must be host names such as \"fcm.googleapis.com\" or \".notify.windows.com\"");
        c.push.endpoint_hosts.push_back(*h);
      }
    }
    c.push.allow_private_endpoints = get_bool(*t, p, "allow_private_endpoints", c.push.allow_private_endpoints);
    c.push.ca_file = get_string(*t, p, "ca_file", c.push.ca_file);
    c.push.vapid_subject = get_string(*t, p, "vapid_subject", c.push.vapid_subject);
    if (!c.push.vapid_subject.empty() && c.push.vapid_subject.rfind("mailto:", 0) != 0 &&
        c.push.vapid_subject.rfind("https://", 0) != 0)
      fail("push.vapid_subject", "must start with mailto: or https:// (RFC 8292)");
    c.push.max_in_flight = get_int(*t, p, "max_in_flight", c.push.max_in_flight, 1, 1'000'000);
  }
  if (c.push.vapid_subject.empty()) c.push.vapid_subject = "mailto:postmaster@" + c.server_name;
  if (auto* t = sub_table(root, "email")) {
    std::string p = "email.";
    check_keys(*t, p, {"host", "port", "starttls", "ca_file", "user", "password", "password_file", "from",
                       "interval_seconds", "delay_seconds", "check_seconds"});
    auto& e = c.email;
    e.host = get_string(*t, p, "host", e.host);
    e.port = get_int(*t, p, "port", e.port, 1, 65535);
    e.starttls = get_bool(*t, p, "starttls", e.starttls);
    e.ca_file = get_string(*t, p, "ca_file", e.ca_file);
    if (!e.ca_file.empty() && !std::ifstream(e.ca_file)) fail("email.ca_file", "cannot read " + e.ca_file);
    e.user = get_string(*t, p, "user", e.user);
    e.password = get_string(*t, p, "password", e.password);
    auto file = get_string(*t, p, "password_file", "");
    if (!file.empty()) {
      if (!e.password.empty()) fail("email.password_file", "give password or password_file, not both");
      std::ifstream in(file);
      if (!in) fail("email.password_file", "cannot read " + file);
      std::getline(in, e.password);
    }
    e.from = get_string(*t, p, "from", e.from);
    e.interval_seconds = get_int(*t, p, "interval_seconds", e.interval_seconds, 1, 30 * 86400);
    e.delay_seconds = get_int(*t, p, "delay_seconds", e.delay_seconds, 0, 30 * 86400);
    e.check_seconds = get_int(*t, p, "check_seconds", e.check_seconds, 1, 86400);
    if (!e.host.empty() && !valid_from_address(e.from)) fail("email.from", "must be an address such as noreply@beratung.example");
    if (!e.user.empty() && !e.starttls) fail("email.user", "AUTH needs starttls = true (the password never goes in clear)");
  }
  if (auto* t = sub_table(root, "metrics")) {
    std::string p = "metrics.";
    check_keys(*t, p, {"enabled", "listen_address", "listen_port"});
    c.metrics.enabled = get_bool(*t, p, "enabled", c.metrics.enabled);
    c.metrics.listen_address = get_string(*t, p, "listen_address", c.metrics.listen_address);
    c.metrics.listen_port = static_cast<std::uint16_t>(get_int(*t, p, "listen_port", c.metrics.listen_port, 0, 65535));
    if (c.metrics.enabled && c.metrics.listen_address == c.listen_address && c.metrics.listen_port == c.listen_port &&
        c.listen_port != 0)
      fail("metrics.listen_port", "must differ from the public listen_port: /metrics is never served publicly");
  }
  if (auto* t = sub_table(root, "web_client")) {
    check_keys(*t, "web_client.", {"dir"});
    c.web_client.dir = get_string(*t, "web_client.", "dir", c.web_client.dir);
  }
  if (auto* t = sub_table(root, "branding")) {
    std::string p = "branding.";
    check_keys(*t, p, {"name", "primary_color", "logo_url", "languages"});
    c.branding.name = get_string(*t, p, "name", c.branding.name);
    c.branding.primary_color = get_string(*t, p, "primary_color", c.branding.primary_color);
    if (c.branding.primary_color.size() != 7 || c.branding.primary_color[0] != '#')
      fail("branding.primary_color", "must look like #0b5cad");
    c.branding.logo_url = get_string(*t, p, "logo_url", c.branding.logo_url);
    if (auto node = (*t)["languages"]) {
      auto* arr = node.as_array();
      if (!arr || arr->empty()) fail("branding.languages", "must be a non-empty list of language codes");
      c.branding.languages.clear();
      for (const auto& v : *arr) {
        auto s = v.value<std::string>();
        if (!s || s->size() != 2) fail("branding.languages", "entries are ISO 639-1 codes such as \"de\"");
        c.branding.languages.push_back(*s);
      }
    }
  }
  if (auto* t = sub_table(root, "counseling")) {
    std::string p = "counseling.";
    check_keys(*t, p, {"service_user", "max_open_consultations", "retention_days"});
    c.counseling.service_user = get_string(*t, p, "service_user", c.counseling.service_user);
    if (c.counseling.service_user.empty()) fail("counseling.service_user", "must not be empty");
    c.counseling.max_open_consultations = get_int(*t, p, "max_open_consultations", c.counseling.max_open_consultations, 1, 1000);
    c.counseling.retention_days = get_int(*t, p, "retention_days", c.counseling.retention_days, 1, 36500);
  }
  if (auto* t = sub_table(root, "media")) {
    check_keys(*t, "media.", {"max_upload_size", "user_quota"});
    c.media.max_upload_size = static_cast<std::uint64_t>(
        get_int(*t, "media.", "max_upload_size", static_cast<std::int64_t>(c.media.max_upload_size), 1, std::int64_t{1} << 40));
    c.media.user_quota = static_cast<std::uint64_t>(
        get_int(*t, "media.", "user_quota", static_cast<std::int64_t>(c.media.user_quota), 0, std::int64_t{1} << 50));
  }
  if (auto* t = sub_table(root, "security")) {
    check_keys(*t, "security.", {"password_hash"});
    c.security.password_hash = get_string(*t, "security.", "password_hash", c.security.password_hash);
    if (c.security.password_hash != "interactive" && c.security.password_hash != "minimal")
      fail("security.password_hash", "must be \"interactive\" or \"minimal\"");
  }
  return c;
}

Config load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

std::string default_config_text(const std::string& data_dir) {
  return "# Lotse instance configuration (see README.md, \"Configuration\").\n"
         "server_name = \"localhost\"\n"
         "listen_address = \"127.0.0.1\"\n"
         "listen_port = 8008\n"
         "data_dir = \"" + data_dir + "\"\n\n"
         "[registration]\nenabled = true\n\n"
         "[rate_limits]\nenabled = true\n";
}

}  // namespace lotse::config
