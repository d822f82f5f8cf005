// Backups of a data directory (see backup.hpp).
#include "server/admin_cli/backup.hpp"

#include <boost/json.hpp>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <set>
#include <vector>

#include "e2ee/crypto.hpp"
#include "server/admin_cli/backup_crypto.hpp"

namespace lotse::admin {
namespace {

namespace fs = std::filesystem;
constexpr const char* kManifest = "MANIFEST.json";
constexpr const char* kKeyFiles[] = {"signing.key", "push-vapid.pem", "email-unsubscribe.key"};

std::string file_sha256(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  e2ee::Sha256 h;
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) h.update(std::string_view(buf.data(), static_cast<std::size_t>(in.gcount())));
  }
  return h.hex_digest();
}

bool empty_or_missing(const fs::path& p) {
  std::error_code ec;
  return !fs::exists(p, ec) || (fs::is_directory(p, ec) && fs::is_empty(p, ec));
}

bool plain_relative(const std::string& rel) {
  fs::path p(rel);
  if (rel.empty() || p.is_absolute()) return false;
  for (const auto& part : p)
    if (part == ".." || part == ".") return false;
  return true;
}

// Copies the database with SQLite's online backup API in one step: one read transaction, so the
// copy is the state of one moment even while the server keeps committing.
bool snapshot_database(const fs::path& src, const fs::path& dst, std::ostream& err) {
  sqlite3 *from = nullptr, *to = nullptr;
  bool ok = sqlite3_open_v2(src.c_str(), &from, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK &&
            sqlite3_open_v2(dst.c_str(), &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) == SQLITE_OK;
  if (ok) {
    sqlite3_busy_timeout(from, 10000);
    sqlite3_backup* b = sqlite3_backup_init(to, "main", from, "main");
    ok = b && sqlite3_backup_step(b, -1) == SQLITE_DONE;
    if (b) sqlite3_backup_finish(b);
    // The copy is one file: no -wal/-shm beside it when it is read (the server turns WAL on again).
    ok = ok && sqlite3_exec(to, "PRAGMA journal_mode=DELETE", nullptr, nullptr, nullptr) == SQLITE_OK;
    if (!ok) err << "lotse-admin: database snapshot failed: " << sqlite3_errmsg(to) << "\n";
  } else {
    err << "lotse-admin: cannot open " << src.string() << ": " << (from ? sqlite3_errmsg(from) : "out of memory") << "\n";
  }
  sqlite3_close(from);
  sqlite3_close(to);
  return ok;
}

// The content hashes of every stored file the snapshot references.
std::set<std::string> referenced_media(const fs::path& db_path) {
  std::set<std::string> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    for (const char* sql : {"SELECT DISTINCT sha256 FROM media WHERE sha256 IS NOT NULL",
                            "SELECT DISTINCT sha256 FROM media_thumbnails"}) {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) continue;
      while (sqlite3_step(st) == SQLITE_ROW)
        if (auto* t = sqlite3_column_text(st, 0)) out.insert(reinterpret_cast<const char*>(t));
      sqlite3_finalize(st);
    }
  }
  sqlite3_close(db);
  return out;
}

std::string media_rel(const std::string& sha) { return "media/" + sha.substr(0, 2) + "/" + sha.substr(2, 2) + "/" + sha; }

bool valid_sha(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

int backup(const BackupOptions& o, std::ostream& out, std::ostream& err) {
  ::umask(077);  // a backup holds everything: only its owner may read it
  fs::path data(o.data_dir), to(o.to);
  if (!fs::exists(data / "lotse.db")) {
    err << "lotse-admin: no lotse.db in " << data.string() << "\n";
    return 2;
  }
  if (!empty_or_missing(to)) {
    err << "lotse-admin: " << to.string() << " exists and is not empty; back up into a new directory\n";
    return 2;
  }
  std::optional<BackupKeyPair> recipient;
  if (!o.encrypt_to.empty()) {
    std::string why;
    recipient = read_backup_key(o.encrypt_to, false, why);
    if (!recipient) {
      err << "lotse-admin: " << why << "\n";
      return 2;
    }
  }
  fs::create_directories(to);
  fs::permissions(to, fs::perms::owner_all);
  auto started = std::chrono::system_clock::now();
  boost::json::array files;
  auto add = [&](const std::string& rel) {
    files.push_back(boost::json::object{{"path", rel},
                                        {"size", static_cast<std::int64_t>(fs::file_size(to / rel))},
                                        {"sha256", file_sha256(to / rel)}});
  };
  // A file into the backup: copied, or encrypted into rel + ".enc" (nothing readable reaches `to`).
  auto store = [&](const fs::path& src, const std::string& rel) {
    fs::create_directories((to / rel).parent_path());
    if (!recipient) {
      std::error_code ec;
      if (!fs::copy_file(src, to / rel, ec)) {
        // E.g. a media file removed since the snapshot (retention, erasure).
        err << "lotse-admin: cannot copy " << src.string() << " (" << ec.message() << "); run the backup again\n";
        return false;
      }
      add(rel);
      return true;
    }
    std::string why;
    if (!encrypt_backup_file(src, to / (rel + ".enc"), rel, recipient->public_key, why)) {
      err << "lotse-admin: " << why << "\n";
      return false;
    }
    add(rel + ".enc");
    return true;
  };
  // The database snapshot: straight into the backup, or (encrypted) first beside the database,
  // on the disk that holds it in the clear anyway.
  fs::path snapshot = recipient ? data / (".backup-snapshot-" + std::to_string(::getpid()) + ".db") : to / "lotse.db";
  struct Remove {
    fs::path p;
    ~Remove() {
      std::error_code ec;
      if (!p.empty())
        for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(p.string() + suffix, ec);
    }
  } remove_snapshot{recipient ? snapshot : fs::path()};
  if (!snapshot_database(data / "lotse.db", snapshot, err)) return 1;
  if (!recipient) add("lotse.db");
  else if (!store(snapshot, "lotse.db")) return 1;
  std::size_t missing = 0;
  for (const auto& sha : referenced_media(snapshot)) {
    if (!valid_sha(sha)) continue;
    fs::path src = data / media_rel(sha);
    if (!fs::exists(src)) {
      // Removed after the snapshot (retention, erasure): the restored instance would miss it.
      err << "lotse-admin: media file " << sha << " is gone\n";
      ++missing;
      continue;
    }
    if (!store(src, media_rel(sha))) return 1;
  }
  // The keys beside the database: the server's signing key, the VAPID key every push subscription
  // is bound to (a new one would silence every seeker's notifications), the e-mail unsubscribe key.
  for (const char* name : kKeyFiles)
    if (fs::exists(data / name) && !store(data / name, name)) return 1;
  if (!o.config_file.empty() && !store(o.config_file, "lotse.toml")) return 1;
  boost::json::object manifest{
      {"format", "lotse-backup-v1"},
      {"created_ts", std::chrono::duration_cast<std::chrono::milliseconds>(started.time_since_epoch()).count()},
      {"files", std::move(files)}};
  if (recipient) manifest["encrypted_for"] = to_hex(recipient->public_key);
  std::ofstream(to / kManifest) << boost::json::serialize(manifest) << "\n";
  out << "Backup of " << data.string() << " in " << to.string() << ": " << manifest["files"].as_array().size()
      << " files" << (recipient ? ", encrypted for " + to_hex(recipient->public_key).substr(0, 16) + "..." : "") << ".\n";
  if (missing) {
    err << "lotse-admin: " << missing << " media file(s) disappeared during the backup; run it again\n";
    return 1;
  }
  return 0;
}

int verify_backup(const std::string& dir_s, std::ostream& out, std::ostream& err) {
  fs::path dir(dir_s);
  std::ifstream in(dir / kManifest);
  if (!in) {
    err << "lotse-admin: no " << kManifest << " in " << dir.string() << "\n";
    return 1;
  }
  boost::system::error_code jec;
  auto manifest = boost::json::parse(std::string(std::istreambuf_iterator<char>(in), {}), jec);
  if (jec || !manifest.is_object() || !manifest.as_object().contains("files") ||
      !manifest.as_object().at("files").is_array()) {
    err << "lotse-admin: " << kManifest << " is damaged\n";
    return 1;
  }
  std::size_t bad = 0, checked = 0;
  for (const auto& f : manifest.as_object().at("files").as_array()) {
    const auto* o = f.if_object();
    const auto* path = o ? o->if_contains("path") : nullptr;
    const auto* sha = o ? o->if_contains("sha256") : nullptr;
    if (!path || !path->is_string() || !sha || !sha->is_string() || !plain_relative(std::string(path->get_string()))) {
      err << "lotse-admin: a manifest entry is damaged\n";
      ++bad;
      continue;
    }
    fs::path p = dir / std::string(path->get_string());
    ++checked;
    if (!fs::exists(p)) {
      err << "lotse-admin: missing " << path->get_string() << "\n";
      ++bad;
    } else if (file_sha256(p) != sha->get_string()) {
      err << "lotse-admin: " << path->get_string() << " does not match its checksum\n";
      ++bad;
    }
  }
  if (bad) {
    err << "lotse-admin: backup " << dir.string() << " is NOT intact: " << bad << " problem(s)\n";
    return 1;
  }
  out << "Backup " << dir.string() << " is intact: " << checked << " files match their checksums.\n";
  return 0;
}

int restore(const RestoreOptions& o, std::ostream& out, std::ostream& err) {
  ::umask(077);
  fs::path from(o.from), data(o.data_dir);
  if (!empty_or_missing(data)) {
    err << "lotse-admin: " << data.string() << " is not empty; restore only into a new data directory\n";
    return 2;
  }
  if (verify_backup(o.from, out, err) != 0) return 1;
  std::ifstream in(from / kManifest);
  auto manifest = boost::json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
  std::optional<BackupKeyPair> key;
  if (const auto* enc = manifest.as_object().if_contains("encrypted_for")) {
    std::string why;
    if (o.key_file.empty()) {
      err << "lotse-admin: this backup is encrypted; restore it with --key (the secret key file of backup keygen)\n";
      return 2;
    }
    key = read_backup_key(o.key_file, true, why);
    if (!key) {
      err << "lotse-admin: " << why << "\n";
      return 2;
    }
    if (!enc->is_string() || to_hex(key->public_key) != enc->get_string()) {
      err << "lotse-admin: the backup is encrypted for another key\n";
      return 2;
    }
  }
  // Everything of an encrypted backup is encrypted: a plain file in it was put there afterwards.
  if (key)
    for (const auto& f : manifest.as_object().at("files").as_array())
      if (std::string rel(f.as_object().at("path").as_string()); rel.size() <= 4 || !rel.ends_with(".enc")) {
        err << "lotse-admin: " << rel << " is not encrypted, but the backup is; nothing restored\n";
        return 1;
      }
  fs::create_directories(data);
  std::size_t restored = 0;
  for (const auto& f : manifest.as_object().at("files").as_array()) {
    std::string rel(f.as_object().at("path").as_string());
    bool encrypted = key && rel.size() > 4 && rel.ends_with(".enc");
    std::string target = encrypted ? rel.substr(0, rel.size() - 4) : rel;
    if (target == "lotse.toml" && !encrypted) continue;  // the config belongs beside, not into, the data directory
    fs::path dst = target == "lotse.toml" ? data / "lotse.toml.restored" : data / target;
    fs::create_directories(dst.parent_path());
    if (encrypted) {
      std::string why;
      if (!decrypt_backup_file(from / rel, dst, target, *key, why)) {
        err << "lotse-admin: " << why << "; the restore into " << data.string() << " is incomplete, remove it\n";
        return 1;
      }
    } else {
      fs::copy_file(from / rel, dst);
    }
    fs::permissions(dst, fs::perms::owner_read | fs::perms::owner_write);
    ++restored;
  }
  out << "Restored " << from.string() << " into " << data.string() << " (" << restored << " files"
      << (key ? ", decrypted" : "") << ").";
  if (fs::exists(from / "lotse.toml")) out << " The backed-up config is " << (from / "lotse.toml").string() << ".";
  if (fs::exists(data / "lotse.toml.restored"))
    out << " The backed-up config is " << (data / "lotse.toml.restored").string() << "; move it beside the data directory.";
  out << "\n";
  return 0;
}

}  // namespace lotse::admin
