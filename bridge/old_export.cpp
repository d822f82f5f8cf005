// Export reading. The SQL dumps run in an in-memory SQLite database under an authorizer that allows
// creating and filling tables and nothing else (no ATTACH, no PRAGMA, no triggers or views).
#include "bridge/old_export.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "e2ee/safe_json.hpp"

namespace lotse::bridge {
namespace {

namespace fs = std::filesystem;

// Generous limits for exported documents (an upload's preview image is inline Base64).
constexpr e2ee::JsonLimits kExportLimits{64, 16 * 1024 * 1024, 1'000'000, true};
constexpr std::uintmax_t kMaxFileBytes = 8ULL * 1024 * 1024 * 1024;

std::string read_file(const fs::path& p) {
  std::error_code ec;
  auto size = fs::file_size(p, ec);
  if (ec) throw std::runtime_error("cannot read " + p.string() + ": " + ec.message());
  if (size > kMaxFileBytes) throw std::runtime_error(p.string() + " is larger than 8 GiB");
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + p.string());
  std::string out(static_cast<std::size_t>(size), '\0');
  in.read(out.data(), static_cast<std::streamsize>(size));
  if (!in) throw std::runtime_error("cannot read " + p.string());
  return out;
}

std::vector<boost::json::object> read_json_lines(const fs::path& p, std::vector<Problem>& problems) {
  std::vector<boost::json::object> out;
  std::istringstream in(read_file(p));
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line == "\r") continue;
    try {
      auto v = e2ee::parse_limited(line, kExportLimits);
      if (!v.is_object()) throw std::runtime_error("not an object");
      out.push_back(std::move(v.as_object()));
    } catch (const std::exception& e) {
      problems.push_back({"unreadable-document", p.filename().string() + ":" + std::to_string(n),
                          std::string("line skipped: ") + e.what()});
    }
  }
  return out;
}

int authorize(void*, int action, const char*, const char*, const char*, const char*) {
  switch (action) {
    case SQLITE_CREATE_TABLE:
    case SQLITE_INSERT:
    case SQLITE_DROP_TABLE:
    case SQLITE_CREATE_INDEX:
    case SQLITE_REINDEX:      // CREATE INDEX fills the new index
    case SQLITE_DROP_INDEX:
    case SQLITE_READ:
    case SQLITE_SELECT:
    case SQLITE_DELETE:       // DROP TABLE deletes rows of sqlite_master
    case SQLITE_UPDATE:       // ... and updates it while creating tables
    case SQLITE_TRANSACTION:
    case SQLITE_FUNCTION:     // SQLite's built-in functions only (extensions cannot be loaded)
      return SQLITE_OK;
    default:
      return SQLITE_DENY;
  }
}

}  // namespace

OldExport::OldExport(const fs::path& dir) : dir_(dir) {
  if (!fs::is_directory(dir)) throw std::runtime_error(dir.string() + " is not a directory");
  auto mongo = dir / "mongo";
  rc_users = read_json_lines(mongo / "users.json", read_problems);
  rooms = read_json_lines(mongo / "rocketchat_room.json", read_problems);
  subscriptions = read_json_lines(mongo / "rocketchat_subscription.json", read_problems);
  messages = read_json_lines(mongo / "rocketchat_message.json", read_problems);
  uploads = read_json_lines(mongo / "rocketchat_uploads.json", read_problems);
  // consulting_types.json is one document per line like the others, or a JSON array.
  auto ct = read_file(mongo / "consulting_types.json");
  try {
    auto v = e2ee::parse_limited(ct, kExportLimits);
    if (v.is_array())
      for (auto& e : v.as_array())
        if (e.is_object()) consulting_types.push_back(e.as_object());
    if (v.is_object()) consulting_types.push_back(v.as_object());
  } catch (const std::exception&) {
    consulting_types = read_json_lines(mongo / "consulting_types.json", read_problems);
  }
  auto kc = e2ee::parse_limited(read_file(dir / "keycloak" / "users.json"), kExportLimits);
  if (!kc.is_object() || !kc.as_object().contains("users") || !kc.as_object().at("users").is_array())
    throw std::runtime_error("keycloak/users.json has no \"users\" list");
  keycloak_users = kc.as_object().at("users").as_array();

  std::istringstream props(read_file(dir / "config" / "services.properties"));
  std::string line;
  while (std::getline(props, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    properties[line.substr(0, eq)] = line.substr(eq + 1);
  }

  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  db_.reset(db);
  if (rc != SQLITE_OK) throw std::runtime_error("cannot open an in-memory SQLite database");
  sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, nullptr);
  sqlite3_set_authorizer(db, authorize, nullptr);
  load_sql(dir / "mariadb" / "userservice.sql");
  load_sql(dir / "mariadb" / "agencyservice.sql");
  sqlite3_set_authorizer(db, nullptr, nullptr);
}

void OldExport::CloseDb::operator()(sqlite3* db) const { sqlite3_close(db); }

OldExport::~OldExport() = default;

void OldExport::load_sql(const fs::path& file) {
  auto sql = read_file(file);
  char* err = nullptr;
  if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error(file.string() + ": " + msg);
  }
}

std::vector<SqlRow> OldExport::table(const std::string& name) const {
  std::vector<SqlRow> out;
  if (!std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }))
    return out;
  sqlite3_stmt* st = nullptr;
  std::string q = "SELECT * FROM \"" + name + "\" ORDER BY rowid";
  if (sqlite3_prepare_v2(db_.get(), q.c_str(), -1, &st, nullptr) != SQLITE_OK) return out;  // table absent
  while (sqlite3_step(st) == SQLITE_ROW) {
    SqlRow row;
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      if (sqlite3_column_type(st, i) == SQLITE_NULL) continue;
      auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
      row[sqlite3_column_name(st, i)] = t ? t : "";
    }
    out.push_back(std::move(row));
  }
  sqlite3_finalize(st);
  return out;
}

fs::path OldExport::upload_path(const std::string& id, const std::string& extension) const {
  auto safe = [](const std::string& s) {
    return !s.empty() && s.size() <= 64 &&
           std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
  };
  if (!safe(id) || !safe(extension)) return {};
  return dir_ / "uploads" / (id + "." + extension);
}

}  // namespace lotse::bridge
