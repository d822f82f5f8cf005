// lotse-admin: the administrators' command line. It talks to a running lotse over the admin API
// (/_lotse/admin/v1) with an admin access token; --json prints the server's JSON for scripts.
#include <CLI/CLI.hpp>
#include <toml++/toml.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "server/admin_cli/backup.hpp"
#include "server/admin_cli/backup_crypto.hpp"
#include "server/admin_cli/tenant.hpp"
#include "server/bootstrap_request.hpp"
#include "server/matrix_client/matrix_client.hpp"

using boost::json::array;
using boost::json::object;
using boost::json::value;
using lotse::client::MatrixClient;
using verb = boost::beast::http::verb;

namespace {

std::string enc(const std::string& s) { return MatrixClient::url_encode(s); }

// Human-readable output: lists as one line per entry, objects as "key: value".
void print_human(const value& v) {
  if (!v.is_object()) {
    std::cout << boost::json::serialize(v) << "\n";
    return;
  }
  const auto& o = v.as_object();
  for (const auto& kv : o) {
    if (kv.value().is_array() && !kv.value().as_array().empty() && kv.value().as_array()[0].is_object()) {
      for (const auto& item : kv.value().as_array()) {
        bool first = true;
        for (const auto& f : item.as_object()) {
          std::cout << (first ? "" : "  ") << f.key() << "="
                    << (f.value().is_string() ? std::string(f.value().as_string()) : boost::json::serialize(f.value()));
          first = false;
        }
        std::cout << "\n";
      }
      if (kv.value().as_array().empty()) std::cout << "(none)\n";
      continue;
    }
    std::cout << kv.key() << ": "
              << (kv.value().is_string() ? std::string(kv.value().as_string()) : boost::json::serialize(kv.value())) << "\n";
  }
}

array to_array(const std::vector<std::string>& v) {
  array a;
  for (const auto& s : v) a.push_back(value(s));
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lotse-admin: administer a Lotse instance over its admin API"};
  app.require_subcommand(1);
  std::string server = std::getenv("LOTSE_SERVER") ? std::getenv("LOTSE_SERVER") : "";
  std::string token = std::getenv("LOTSE_ADMIN_TOKEN") ? std::getenv("LOTSE_ADMIN_TOKEN") : "";
  std::string config_file;
  bool json = false;
  app.add_option("--server", server, "base URL of the instance, e.g. http://127.0.0.1:8008 (env LOTSE_SERVER)");
  app.add_option("--token", token, "admin access token (env LOTSE_ADMIN_TOKEN)");
  app.add_option("--config", config_file, "TOML file with `server` and `token`");
  app.add_flag("--json", json, "print the server's JSON answer");

  // The request to send, filled by the chosen subcommand.
  verb method = verb::get;
  std::string path;
  std::optional<value> body;
  bool needs_token = true;
  std::string data_dir, username = "admin";
  std::filesystem::path bootstrap_file;

  auto* boot = app.add_subcommand("bootstrap",
                                  "create the first administrator (prints its password once); run it on the server's "
                                  "host as a user who may write into the data directory");
  boot->add_option("--data-dir", data_dir, "the instance's data directory (data_dir in its config)")->required();
  boot->add_option("--username", username, "localpart of the administrator");

  // backup, restore: local operations on the data directory, no server needed
  std::string backup_to, backup_config, backup_dir, backup_key_out, encrypt_to, restore_from, restore_key;
  auto* backup_cmd = app.add_subcommand("backup", "consistent backup of a data directory while the server runs");
  backup_cmd->add_option("--data-dir", data_dir, "the instance's data directory (required unless verify)");
  backup_cmd->add_option("--to", backup_to, "a new, empty directory for the backup (required unless verify)");
  backup_cmd->add_option("--config", backup_config, "the instance's config file, copied too");
  backup_cmd->add_option("--encrypt-to", encrypt_to, "a key file of 'backup keygen' (FILE.pub is enough): every file encrypted for it");
  auto* backup_verify = backup_cmd->add_subcommand("verify", "check every file of a backup against its checksum (no key needed)");
  backup_verify->add_option("dir", backup_dir, "the backup directory")->required();
  auto* backup_keygen = backup_cmd->add_subcommand("keygen", "a key pair for encrypted backups: FILE (secret, keep it off the backup host) and FILE.pub");
  backup_keygen->add_option("--out", backup_key_out, "where to write the secret key; FILE.pub gets the public key")->required();
  auto* restore_cmd = app.add_subcommand("restore", "restore a verified backup into a new data directory");
  restore_cmd->add_option("--from", restore_from, "the backup directory")->required();
  restore_cmd->add_option("--data-dir", data_dir, "a new, empty data directory")->required();
  restore_cmd->add_option("--key", restore_key, "the secret key file, for an encrypted backup");

  // tenant: one instance per organisation, from the deploy/ templates
  lotse::admin::TenantPaths tenant_paths;
  lotse::admin::TenantSpec tenant;
  auto* tenant_cmd = app.add_subcommand("tenant", "set up instances (one per organisation) on this host");
  tenant_cmd->require_subcommand(1);
  auto add_tenant_paths = [&](CLI::App* cmd) {
    cmd->add_option("--etc-dir", tenant_paths.etc_dir, "where the tenants' configs live")->capture_default_str();
    cmd->add_option("--data-root", tenant_paths.data_root, "parent of the tenants' data directories")->capture_default_str();
    cmd->add_option("--nginx-dir", tenant_paths.nginx_dir, "where nginx sites are written")->capture_default_str();
    cmd->add_option("--templates", tenant_paths.templates, "the deploy/ templates")->capture_default_str();
    cmd->add_option("--web-dir", tenant_paths.web_dir, "the built web app")->capture_default_str();
  };
  auto* tenant_create = tenant_cmd->add_subcommand("create", "write a tenant's config, data directory and nginx site");
  tenant_create->add_option("name", tenant.name, "tenant name: lower-case letters, digits, '-'")->required();
  tenant_create->add_option("--domain", tenant.domain, "public host name, also the Matrix server name")->required();
  tenant_create->add_option("--port", tenant.port, "loopback port of this instance (default: next free from 8100)");
  tenant_create->add_option("--metrics-port", tenant.metrics_port, "loopback port of /metrics (default: port + 1000)");
  tenant_create->add_option("--branding-name", tenant.branding_name, "the name seekers see (default: the domain)");
  tenant_create->add_option("--cert", tenant.cert, "TLS certificate chain for nginx (default: Let's Encrypt's path)");
  tenant_create->add_option("--cert-key", tenant.cert_key, "its private key");
  tenant_create->add_option("--listen", tenant.listen, "nginx listen address/port")->capture_default_str();
  tenant_create->add_option("--max-upload", tenant.max_upload_mib, "largest upload in MiB (lotse's limit; nginx's is 1 MiB more)")
      ->check(CLI::Range(1, 10240))->capture_default_str();
  add_tenant_paths(tenant_create);
  auto* tenant_list = tenant_cmd->add_subcommand("list", "list the tenants set up on this host");
  add_tenant_paths(tenant_list);

  // counselor
  auto* counselor = app.add_subcommand("counselor", "manage counselors");
  counselor->require_subcommand(1);
  std::string c_user, c_name, c_agency, c_gender, c_password, c_role = "counselor", abs_msg, abs_from, abs_until, c_email;
  std::vector<std::string> c_langs, c_topics, c_postal;
  bool clear_absence = false, clear_email = false;
  auto add_profile_options = [&](CLI::App* cmd) {
    cmd->add_option("--display-name", c_name, "name seekers see");
    cmd->add_option("--agency", c_agency, "agency id");
    cmd->add_option("--language", c_langs, "ISO 639-1 language (repeat)");
    cmd->add_option("--topic", c_topics, "topic id (repeat)");
    cmd->add_option("--postal-code", c_postal, "postal-code area served, a prefix (repeat)");
    cmd->add_option("--gender", c_gender, "optional");
    cmd->add_option("--absence-message", abs_msg, "absence notice posted into new consultations");
    cmd->add_option("--absence-from", abs_from, "YYYY-MM-DD");
    cmd->add_option("--absence-until", abs_until, "YYYY-MM-DD");
    cmd->add_option("--email", c_email, "address for the unread-message digests ([email] in the server's config)");
  };
  auto* c_add = counselor->add_subcommand("add", "create a counselor account");
  c_add->add_option("--username", c_user, "localpart")->required();
  c_add->add_option("--password", c_password, "initial password (generated and printed if omitted)");
  c_add->add_option("--role", c_role, "counselor (default) or admin");
  add_profile_options(c_add);
  c_add->get_option("--display-name")->required();  // seekers choose by it; the server needs it
  counselor->add_subcommand("list", "list counselors");
  auto* c_show = counselor->add_subcommand("show", "show one counselor");
  c_show->add_option("user", c_user)->required();
  auto* c_update = counselor->add_subcommand("update", "change a counselor's profile");
  c_update->add_option("user", c_user)->required();
  c_update->add_flag("--clear-absence", clear_absence, "remove the absence notice");
  c_update->add_flag("--clear-email", clear_email, "remove the digest address");
  add_profile_options(c_update);
  auto* c_deact = counselor->add_subcommand("deactivate", "deactivate a counselor account");
  c_deact->add_option("user", c_user)->required();

  // agency, topic
  std::string id, name, city;
  auto* agency = app.add_subcommand("agency", "counseling offices");
  agency->require_subcommand(1);
  auto* a_add = agency->add_subcommand("add", "add an agency");
  a_add->add_option("--id", id)->required();
  a_add->add_option("--name", name)->required();
  a_add->add_option("--city", city);
  agency->add_subcommand("list", "list agencies");
  auto* topic = app.add_subcommand("topic", "consultation topics");
  topic->require_subcommand(1);
  auto* t_add = topic->add_subcommand("add", "add a topic");
  t_add->add_option("--id", id)->required();
  t_add->add_option("--name", name)->required();
  // The name per language for the seekers' app: --name-in ar=... --name-in fa=... (update replaces them all).
  std::vector<std::string> t_names;
  t_add->add_option("--name-in", t_names, "LANG=NAME, the name in another language (repeat)");
  auto* t_update = topic->add_subcommand("update", "rename a topic or set its names per language");
  t_update->add_option("--id", id)->required();
  t_update->add_option("--name", name);
  t_update->add_option("--name-in", t_names, "LANG=NAME, the name in another language (repeat; replaces the set)");
  topic->add_subcommand("list", "list topics");

  // exchange
  std::string room, member, room_topic;
  auto* exchange = app.add_subcommand("exchange", "the internal exchange (space of counselor rooms)");
  exchange->require_subcommand(1);
  auto* e_create = exchange->add_subcommand("create-room", "create a group room in the exchange space");
  e_create->add_option("--name", name)->required();
  e_create->add_option("--topic", room_topic);
  auto* e_add = exchange->add_subcommand("add-member", "invite a counselor");
  e_add->add_option("room", room)->required();
  e_add->add_option("user", member)->required();
  auto* e_remove = exchange->add_subcommand("remove-member", "remove a member");
  e_remove->add_option("room", room)->required();
  e_remove->add_option("user", member)->required();

  // consultation
  std::string status, to;
  auto* consultation = app.add_subcommand("consultation", "consultations");
  consultation->require_subcommand(1);
  auto* k_list = consultation->add_subcommand("list", "list consultations");
  k_list->add_option("--status", status, "open or closed");
  auto* k_show = consultation->add_subcommand("show", "show a consultation");
  k_show->add_option("room", room)->required();
  auto* k_transfer = consultation->add_subcommand("transfer", "hand a consultation over to another counselor");
  k_transfer->add_option("room", room)->required();
  k_transfer->add_option("--to", to)->required();
  auto* k_close = consultation->add_subcommand("close", "close a consultation");
  k_close->add_option("room", room)->required();
  auto* k_reopen = consultation->add_subcommand("reopen", "reopen a consultation");
  k_reopen->add_option("room", room)->required();

  // user, retention, stats, audit
  std::string user;
  auto* user_cmd = app.add_subcommand("user", "data-protection requests");
  user_cmd->require_subcommand(1);
  auto* u_export = user_cmd->add_subcommand("export", "everything stored about a user, as JSON");
  u_export->add_option("user", user)->required();
  auto* u_erase = user_cmd->add_subcommand("erase", "erase a user: profile, messages (redacted), files");
  u_erase->add_option("user", user)->required();
  int inactive_days = 0;
  bool dry_run = false;
  auto* retention = app.add_subcommand("retention", "retention of inactive consultations");
  retention->require_subcommand(1);
  auto* purge = retention->add_subcommand("purge", "delete consultations inactive for N days");
  purge->add_option("--inactive-days", inactive_days, "defaults to the instance's counseling.retention_days");
  purge->add_flag("--dry-run", dry_run, "only list what would be deleted");
  app.add_subcommand("stats", "counts per agency, topic and month (never content)");
  int limit = 100;
  auto* audit = app.add_subcommand("audit", "the audit log of administrative actions");
  audit->add_option("--limit", limit);

  CLI11_PARSE(app, argc, argv);

  if (!config_file.empty()) {
    try {
      auto cfg = toml::parse_file(config_file);
      if (server.empty()) server = cfg["server"].value_or(std::string());
      if (token.empty()) token = cfg["token"].value_or(std::string());
    } catch (const toml::parse_error& e) {
      std::cerr << "lotse-admin: cannot read " << config_file << ": " << e.description() << "\n";
      return 2;
    }
  }
  if (server.empty()) server = "http://127.0.0.1:8008";

  const std::string base = "/_lotse/admin/v1";
  auto profile_body = [&](bool creating) {
    object o;
    if (creating) o["username"] = c_user;
    if (!c_name.empty()) o["display_name"] = c_name;
    if (!c_agency.empty()) o["agency"] = c_agency;
    if (!c_langs.empty() || creating) o["languages"] = to_array(c_langs);
    if (!c_topics.empty() || creating) o["topics"] = to_array(c_topics);
    if (!c_postal.empty()) o["postal_codes"] = to_array(c_postal);
    if (!c_gender.empty()) o["gender"] = c_gender;
    if (!abs_msg.empty()) o["absence"] = object{{"message", abs_msg}, {"from", abs_from}, {"until", abs_until}};
    if (clear_absence) o["absence"] = nullptr;
    if (!c_email.empty()) o["email"] = c_email;
    if (clear_email) o["email"] = nullptr;
    if (creating && !c_password.empty()) o["password"] = c_password;
    if (creating) o["role"] = c_role;
    return o;
  };

  if (*tenant_create) return lotse::admin::tenant_create(tenant_paths, tenant, std::cout, std::cerr);
  if (*tenant_list) return lotse::admin::tenant_list(tenant_paths, std::cout, std::cerr);
  if (*backup_cmd || *restore_cmd) lotse::e2ee::init_crypto();
  // Local file work: a file system error (a full disk, a missing permission) is a message, not an abort.
  auto guarded = [](auto run) {
    try {
      return run();
    } catch (const std::exception& e) {
      std::cerr << "lotse-admin: " << e.what() << "\n";
      return 1;
    }
  };
  if (*backup_cmd) {
    if (*backup_verify) return lotse::admin::verify_backup(backup_dir, std::cout, std::cerr);
    if (*backup_keygen) {
      std::string why;
      auto pub = lotse::admin::write_backup_keypair(backup_key_out, why);
      if (!pub) {
        std::cerr << "lotse-admin: " << why << "\n";
        return 1;
      }
      std::cout << "Secret key: " << backup_key_out << " (keep it off the backup host; without it no backup opens)\n"
                << "Public key: " << backup_key_out << ".pub (" << *pub << ") for backup --encrypt-to\n";
      return 0;
    }
    if (data_dir.empty() || backup_to.empty()) {
      std::cerr << "lotse-admin: backup needs --data-dir and --to (or: backup verify DIR)\n";
      return 2;
    }
    return guarded([&] { return lotse::admin::backup({data_dir, backup_to, backup_config, encrypt_to}, std::cout, std::cerr); });
  }
  if (*restore_cmd)
    return guarded([&] { return lotse::admin::restore({restore_from, data_dir, restore_key}, std::cout, std::cerr); });
  if (*boot) {
    needs_token = false;
    // Only the token's hash goes to disk, valid for a few minutes (server/bootstrap_request.hpp).
    lotse::e2ee::init_crypto();
    std::string token_once = lotse::e2ee::random_token(32);
    lotse::BootstrapRequest request{lotse::BootstrapRequest::hash(token_once),
                                    std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch()).count() +
                                        lotse::kBootstrapLifetimeMs};
    bootstrap_file = std::filesystem::path(data_dir) / lotse::kBootstrapRequestFile;
    auto tmp = bootstrap_file.string() + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    std::string line = request.format();
    bool written = fd >= 0 && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    // Readable by the server's user, which owns the data directory (systemd's DynamicUser runs lotse
    // as another user than root, who runs this).
    struct stat dir_stat{};
    if (written && ::stat(data_dir.c_str(), &dir_stat) == 0 && ::geteuid() == 0)
      written = ::fchown(fd, dir_stat.st_uid, dir_stat.st_gid) == 0;
    if (fd >= 0) ::close(fd);
    if (!written || ::rename(tmp.c_str(), bootstrap_file.c_str()) != 0) {
      std::cerr << "lotse-admin: cannot write " << bootstrap_file.string() << ": " << std::strerror(errno)
                << " (run this on the server's host, as a user who may write into its data directory)\n";
      ::unlink(tmp.c_str());
      return 2;
    }
    method = verb::post, path = base + "/bootstrap", body = object{{"bootstrap_token", token_once}, {"username", username}};
  } else if (*counselor) {
    if (*c_add) method = verb::post, path = base + "/counselors", body = profile_body(true);
    else if (counselor->got_subcommand("list")) path = base + "/counselors";
    else if (*c_show) path = base + "/counselors/" + enc(c_user);
    else if (*c_update) method = verb::put, path = base + "/counselors/" + enc(c_user), body = profile_body(false);
    else if (*c_deact) method = verb::post, path = base + "/counselors/" + enc(c_user) + "/deactivate", body = object{};
  } else if (*agency) {
    if (*a_add) method = verb::post, path = base + "/agencies", body = object{{"agency_id", id}, {"name", name}, {"city", city}};
    else path = base + "/agencies";
  } else if (*topic) {
    object names;
    for (const auto& n : t_names) {
      auto eq = n.find('=');
      if (eq == std::string::npos || eq == 0) throw std::runtime_error("--name-in expects LANG=NAME, such as ar=...: " + n);
      names[n.substr(0, eq)] = n.substr(eq + 1);
    }
    if (*t_add) {
      object o{{"topic_id", id}, {"name", name}};
      if (!names.empty()) o["names"] = names;
      method = verb::post, path = base + "/topics", body = o;
    } else if (*t_update) {
      object o;
      if (!name.empty()) o["name"] = name;
      if (!t_names.empty()) o["names"] = names;
      method = verb::put, path = base + "/topics/" + enc(id), body = o;
    } else {
      path = base + "/topics";
    }
  } else if (*exchange) {
    if (*e_create) {
      object o{{"name", name}};
      if (!room_topic.empty()) o["topic"] = room_topic;
      method = verb::post, path = base + "/exchange/rooms", body = o;
    } else if (*e_add) {
      method = verb::post, path = base + "/exchange/rooms/" + enc(room) + "/members", body = object{{"user_id", member}};
    } else {
      method = verb::delete_, path = base + "/exchange/rooms/" + enc(room) + "/members/" + enc(member);
    }
  } else if (*consultation) {
    if (*k_list) path = base + "/consultations" + (status.empty() ? "" : "?status=" + enc(status));
    else if (*k_show) path = base + "/consultations/" + enc(room);
    else if (*k_transfer) method = verb::post, path = base + "/consultations/" + enc(room) + "/transfer", body = object{{"to", to}};
    else if (*k_close) method = verb::post, path = base + "/consultations/" + enc(room) + "/close", body = object{};
    else if (*k_reopen) method = verb::post, path = base + "/consultations/" + enc(room) + "/reopen", body = object{};
  } else if (*user_cmd) {
    if (*u_export) path = base + "/users/" + enc(user) + "/export";
    else method = verb::post, path = base + "/users/" + enc(user) + "/erase", body = object{};
  } else if (*retention) {
    object o{{"dry_run", dry_run}};
    if (inactive_days > 0) o["inactive_days"] = inactive_days;
    method = verb::post, path = base + "/retention/purge", body = o;
  } else if (app.got_subcommand("stats")) {
    path = base + "/stats";
  } else if (*audit) {
    path = base + "/audit?limit=" + std::to_string(limit);
  }

  if (needs_token && token.empty()) {
    std::cerr << "lotse-admin: no admin token: use --token, LOTSE_ADMIN_TOKEN or --config\n";
    return 2;
  }
  try {
    MatrixClient http(server);
    if (needs_token) http.set_access_token(token);
    auto reply = http.request(method, path, body);
    if (!bootstrap_file.empty()) {
      std::error_code ec;
      std::filesystem::remove(bootstrap_file, ec);  // spent either way
    }
    if (reply.status / 100 != 2) {
      std::string errcode, message = boost::json::serialize(reply.body);
      if (reply.body.is_object()) {
        if (auto* e = reply.body.as_object().if_contains("errcode"); e && e->is_string()) errcode = e->get_string();
        if (auto* m = reply.body.as_object().if_contains("error"); m && m->is_string()) message = m->get_string();
      }
      if (json) std::cout << boost::json::serialize(reply.body) << "\n";
      std::cerr << "lotse-admin: " << reply.status << " " << errcode << ": " << message << "\n";
      return 1;
    }
    if (json) {
      std::cout << boost::json::serialize(reply.body) << "\n";
    } else if (*boot) {
      const auto& o = reply.body.as_object();
      // Plain text, not JSON strings: an administrator copies these (quotes would end up in them).
      std::cout << "Administrator " << std::string(o.at("user_id").as_string()) << " created.\n"
                << "Password (shown only now): " << std::string(o.at("password").as_string()) << "\n"
                << "Access token for lotse-admin: " << std::string(o.at("access_token").as_string()) << "\n";
    } else {
      print_human(reply.body);
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "lotse-admin: " << e.what() << "\n";
    return 1;
  }
}
