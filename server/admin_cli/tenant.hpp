// lotse-admin tenant create / list: one instance per organisation, from the templates in deploy/
// (installed to /usr/share/lotse/deploy): its config, data directory and nginx site. Local files
// only; systemd's lotse@NAME.service template runs it.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>

namespace lotse::admin {

struct TenantPaths {
  std::string etc_dir = "/etc/lotse";                     // NAME.toml
  std::string data_root = "/var/lib/lotse";               // NAME/ (the data directory)
  std::string nginx_dir = "/etc/nginx/sites-available";   // lotse-NAME.conf
  std::string templates = "/usr/share/lotse/deploy";      // lotse.toml.in, nginx-site.conf.in
  std::string web_dir = "/usr/share/lotse/web";           // the built PWA
};

struct TenantSpec {
  std::string name, domain, branding_name;
  std::uint16_t port = 0;          // 0: the next free one after the existing tenants' (from 8100)
  std::uint16_t metrics_port = 0;  // 0: port + 1000
  std::string cert, cert_key;      // default: Let's Encrypt's paths for the domain
  std::string listen = "443";      // nginx listen directive
  // Largest upload in MiB: the instance's [media] max_upload_size, and nginx's client_max_body_size
  // one MiB above it (room for the request's headers), so that lotse, not nginx, answers a file too
  // large with M_TOO_LARGE.
  std::uint32_t max_upload_mib = 100;
};

int tenant_create(const TenantPaths& paths, TenantSpec spec, std::ostream& out, std::ostream& err);
int tenant_list(const TenantPaths& paths, std::ostream& out, std::ostream& err);

}  // namespace lotse::admin
