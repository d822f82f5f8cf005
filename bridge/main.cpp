// lotse-bridge: moves an export of the old system into a running Lotse (see the README's "Migration"
// section). `plan` reads and reports; `import` carries it out, idempotently, under a state file;
// `serve` delivers the imported rooms' keys to their members' devices; `status` says who waits.
#include <CLI/CLI.hpp>

#include <iostream>

#include "bridge/migration_plan.hpp"
#include "e2ee/crypto.hpp"

namespace bridge = lotse::bridge;

int main(int argc, char** argv) {
  CLI::App app{"lotse-bridge: import the old counseling system into Lotse"};
  app.require_subcommand(1);
  std::string export_dir, secrets_file;
  bool json = false;
  auto* plan = app.add_subcommand("plan", "read the whole export and report what an import would create (writes nothing)");
  plan->add_option("--export", export_dir, "the export's directory")->required();
  plan->add_option("--secrets", secrets_file, "TOML with [message_encryption] master_key and app_key");
  plan->add_flag("--json", json, "print the report as JSON");
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
  } catch (const std::exception& e) {
    std::cerr << "lotse-bridge: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
