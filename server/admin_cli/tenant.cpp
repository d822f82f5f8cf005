// Tenant set-up from the deploy/ templates (see tenant.hpp).
#include "server/admin_cli/tenant.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>

namespace lotse::admin {
namespace {

namespace fs = std::filesystem;

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 32 || s.front() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

bool valid_domain(const std::string& s) {
  if (s.empty() || s.size() > 253 || s.front() == '.' || s.front() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

// Quotes allowed in TOML basic strings are escaped; the branding name is the only free text.
std::string toml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out;
}

std::string render(const fs::path& tpl, const std::map<std::string, std::string>& vars) {
  std::ifstream in(tpl);
  if (!in) throw std::runtime_error("cannot read template " + tpl.string());
  std::string text((std::istreambuf_iterator<char>(in)), {});
  for (const auto& [k, v] : vars) {
    std::string key = "@" + k + "@";
    for (auto pos = text.find(key); pos != std::string::npos; pos = text.find(key, pos + v.size())) text.replace(pos, key.size(), v);
  }
  return text;
}

struct Tenant {
  std::string name, domain;
  std::int64_t port = 0;
};

std::vector<Tenant> tenants(const TenantPaths& p) {
  std::vector<Tenant> out;
  std::error_code ec;
  if (!fs::is_directory(p.etc_dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(p.etc_dir, ec)) {
    if (e.path().extension() != ".toml") continue;
    try {
      auto t = toml::parse_file(e.path().string());
      out.push_back({e.path().stem().string(), t["server_name"].value_or(std::string("?")), t["listen_port"].value_or(std::int64_t{0})});
    } catch (const std::exception&) {
      out.push_back({e.path().stem().string(), "(unreadable config)", 0});
    }
  }
  std::sort(out.begin(), out.end(), [](const Tenant& a, const Tenant& b) { return a.name < b.name; });
  return out;
}

void write_new(const fs::path& path, const std::string& text, fs::perms perms) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
  fs::permissions(path, perms);
}

}  // namespace

int tenant_create(const TenantPaths& p, TenantSpec s, std::ostream& out, std::ostream& err) {
  if (!valid_name(s.name)) {
    err << "lotse-admin: tenant names are 1-32 lower-case letters, digits and '-'\n";
    return 2;
  }
  if (!valid_domain(s.domain)) {
    err << "lotse-admin: --domain must be a lower-case host name such as beratung.example.org\n";
    return 2;
  }
  // Values that go into the nginx site verbatim: no way to end a directive or open a block.
  for (const auto* v : {&s.listen, &s.cert, &s.cert_key})
    if (v->find_first_of(";{}#\n\r\t \"'") != std::string::npos) {
      err << "lotse-admin: --listen, --cert and --cert-key must not contain spaces, quotes or ; { } #\n";
      return 2;
    }
  fs::path config = fs::path(p.etc_dir) / (s.name + ".toml");
  fs::path data = fs::path(p.data_root) / s.name;
  fs::path site = fs::path(p.nginx_dir) / ("lotse-" + s.name + ".conf");
  for (const auto& f : {config, site})
    if (fs::exists(f)) {
      err << "lotse-admin: " << f.string() << " exists already: tenant " << s.name << " is set up\n";
      return 1;
    }
  auto existing = tenants(p);
  if (s.port == 0) {
    std::int64_t highest = 8099;
    for (const auto& t : existing) highest = std::max(highest, t.port);
    s.port = static_cast<std::uint16_t>(highest + 1);
  }
  for (const auto& t : existing)
    if (t.port == s.port) {
      err << "lotse-admin: port " << s.port << " is taken by tenant " << t.name << "\n";
      return 1;
    }
  if (s.metrics_port == 0) {
    if (s.port > 64535) {
      err << "lotse-admin: give --metrics-port for a port above 64535\n";
      return 2;
    }
    s.metrics_port = static_cast<std::uint16_t>(s.port + 1000);
  }
  if (s.metrics_port == s.port) {
    err << "lotse-admin: --metrics-port must differ from --port\n";
    return 2;
  }
  if (s.cert.empty()) s.cert = "/etc/letsencrypt/live/" + s.domain + "/fullchain.pem";
  if (s.cert_key.empty()) s.cert_key = "/etc/letsencrypt/live/" + s.domain + "/privkey.pem";
  std::map<std::string, std::string> vars{
      {"NAME", s.name},
      {"DOMAIN", s.domain},
      {"PORT", std::to_string(s.port)},
      {"METRICS_PORT", std::to_string(s.metrics_port)},
      {"DATA_DIR", data.string()},
      {"WEB_DIR", p.web_dir},
      {"BRANDING_NAME", toml_escape(s.branding_name.empty() ? s.domain : s.branding_name)},
      {"CERT", s.cert},
      {"CERT_KEY", s.cert_key},
      {"LISTEN", s.listen},
      {"MAX_UPLOAD_BYTES", std::to_string(std::uint64_t{s.max_upload_mib} << 20)},
      {"MAX_BODY", std::to_string(s.max_upload_mib + 1) + "m"}};
  try {
    auto config_text = render(fs::path(p.templates) / "lotse.toml.in", vars);
    auto site_text = render(fs::path(p.templates) / "nginx-site.conf.in", vars);
    fs::create_directories(data);
    fs::permissions(data, fs::perms::owner_all);
    write_new(config, config_text, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
    write_new(site, site_text, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  } catch (const std::exception& e) {
    err << "lotse-admin: " << e.what() << "\n";
    return 1;
  }
  out << "Tenant " << s.name << " (" << s.domain << ") on 127.0.0.1:" << s.port << ", metrics on 127.0.0.1:"
      << s.metrics_port << ".\n"
      << "  config:     " << config.string() << "\n"
      << "  data:       " << data.string() << "\n"
      << "  nginx site: " << site.string() << "\n"
      << "Next steps:\n"
      << "  1. TLS certificate for " << s.domain << " at " << s.cert << " (e.g. certbot certonly --webroot)\n"
      << "  2. ln -s " << site.string() << " /etc/nginx/sites-enabled/ && nginx -t && systemctl reload nginx\n"
      << "  3. systemctl enable --now lotse@" << s.name << "\n"
      << "  4. lotse-admin bootstrap --data-dir " << data.string() << " --server http://127.0.0.1:" << s.port << "\n";
  return 0;
}

int tenant_list(const TenantPaths& p, std::ostream& out, std::ostream&) {
  auto all = tenants(p);
  if (all.empty()) out << "(no tenants in " << p.etc_dir << ")\n";
  for (const auto& t : all) out << t.name << "  " << t.domain << "  127.0.0.1:" << t.port << "\n";
  return 0;
}

}  // namespace lotse::admin
