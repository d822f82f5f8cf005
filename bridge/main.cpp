// lotse-bridge: moves an export of the old system into a running Lotse (README, "Migration from the
// old system"). `plan` reads and reports; `import` carries it out, idempotently, under a state file;
// `serve` delivers the imported rooms' keys to their members' devices; `status` says who still waits.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <csignal>
#include <iostream>

#include "bridge/importer.hpp"
#include "bridge/key_delivery.hpp"
#include "bridge/migration_plan.hpp"
#include "e2ee/crypto.hpp"

namespace bridge = lotse::bridge;

namespace {
volatile std::sig_atomic_t stop_requested = 0;
void on_signal(int) { stop_requested = 1; }
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lotse-bridge: import the old counseling system into Lotse"};
  app.require_subcommand(1);
  std::string export_dir, secrets_file, server, token, state_file, key_file;
  bool json = false;
  int interval = 5;
  auto* plan = app.add_subcommand("plan", "read the whole export and report what an import would create (writes nothing)");
  plan->add_option("--export", export_dir, "the export's directory")->required();
  plan->add_option("--secrets", secrets_file, "TOML with [message_encryption] master_key and app_key");
  plan->add_flag("--json", json, "print the report as JSON");

  auto* imp = app.add_subcommand("import", "import the export into a running Lotse; run it again to import what is new");
  imp->add_option("--export", export_dir, "the export's directory")->required();
  imp->add_option("--secrets", secrets_file, "TOML with [message_encryption] master_key and app_key");
  imp->add_option("--server", server, "Lotse's base URL, e.g. http://127.0.0.1:8008")->required();
  imp->add_option("--token", token, "an administrator's access token")->required()->envname("LOTSE_ADMIN_TOKEN");
  imp->add_option("--state", state_file, "the import's state file (SQLite; created on the first run)")->required();
  imp->add_option("--key-file", key_file, "the key sealing the state file's secrets (default: <state>.key)");
  imp->add_flag("--json", json, "print the report as JSON");

  auto* serve = app.add_subcommand("serve", "deliver the imported history's keys to members' new devices until stopped");
  serve->add_option("--server", server, "Lotse's base URL")->required();
  serve->add_option("--token", token, "an administrator's access token")->envname("LOTSE_ADMIN_TOKEN");
  serve->add_option("--state", state_file, "the import's state file")->required();
  serve->add_option("--key-file", key_file, "the key sealing the state file's secrets (default: <state>.key)");
  serve->add_option("--interval", interval, "seconds between looks at the members' devices")->check(CLI::Range(1, 3600));

  auto* status = app.add_subcommand("status", "how many members and devices still wait for the imported history's keys");
  status->add_option("--server", server, "Lotse's base URL")->required();
  status->add_option("--token", token, "an administrator's access token")->envname("LOTSE_ADMIN_TOKEN");
  status->add_option("--state", state_file, "the import's state file")->required();
  status->add_option("--key-file", key_file, "the key sealing the state file's secrets (default: <state>.key)");
  status->add_flag("--json", json, "print as JSON");
  auto* close = app.add_subcommand("close", "end the migration period: the server's import API and the bridge's device stop for good");
  close->add_option("--server", server, "Lotse's base URL")->required();
  close->add_option("--token", token, "an administrator's access token")->required()->envname("LOTSE_ADMIN_TOKEN");
  CLI11_PARSE(app, argc, argv);
  try {
    lotse::e2ee::init_crypto();
    if (*plan) {
      bridge::OldExport ex(export_dir);
      auto p = bridge::make_plan(ex, bridge::read_secrets(secrets_file));
      if (json) std::cout << boost::json::serialize(bridge::report_json(p)) << "\n";
      else std::cout << bridge::report_text(p);
      return 0;
    }
    if (*imp) {
      bridge::OldExport ex(export_dir);
      auto p = bridge::make_plan(ex, bridge::read_secrets(secrets_file));
      bridge::StateFile state(state_file, key_file);
      bridge::Importer importer(p, state, server, token);
      auto done = importer.run(!json);
      if (json) {
        auto report = bridge::report_json(p);
        report["done"] = done;
        std::cout << boost::json::serialize(report) << "\n";
      } else {
        std::cout << bridge::report_text(p) << "\nWhat this run did\n";
        for (const auto& kv : done) std::cout << "  " << kv.key() << ": " << boost::json::serialize(kv.value()) << "\n";
        if (done.empty()) std::cout << "  nothing: everything was imported before\n";
      }
      return 0;
    }
    if (*close) {
      lotse::client::MatrixClient admin(server);
      admin.set_access_token(token);
      bridge::call_with_retry(admin, boost::beast::http::verb::post, "/_lotse/admin/v1/import/close", boost::json::object{});
      std::cout << "The import is closed: the import API refuses every call from now on, the bridge's device is gone.\n"
                   "Delete the state file and its key file now (shred -u).\n";
      return 0;
    }
    bridge::StateFile state(state_file, key_file);
    if (*status) {
      auto s = bridge::KeyDelivery(state, server, token).status();
      if (json) std::cout << boost::json::serialize(s) << "\n";
      else for (const auto& kv : s) std::cout << kv.key() << ": " << boost::json::serialize(kv.value()) << "\n";
      return 0;
    }
    if (*serve) {
      std::signal(SIGINT, on_signal);
      std::signal(SIGTERM, on_signal);
      bridge::KeyDelivery delivery(state, server, token);
      std::cerr << "lotse-bridge serve: delivering keys for " << state.members().size() << " members\n";
      while (!stop_requested) {
        auto round = delivery.deliver_once();
        if (round.sent_keys) std::cerr << "lotse-bridge serve: " << round.sent_keys << " keys to " << round.devices << " devices\n";
        for (int i = 0; i < interval * 10 && !stop_requested; ++i) usleep(100000);
      }
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "lotse-bridge: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
