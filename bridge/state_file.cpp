// State file on SQLite (WAL, synchronous=FULL: a committed mapping survives a crash), sealed with
// libsodium's secretbox.
#include "bridge/state_file.hpp"

#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <fstream>
#include <stdexcept>

#include "e2ee/crypto.hpp"

namespace lotse::bridge {
namespace {

namespace fs = std::filesystem;

struct Stmt {
  sqlite3_stmt* st = nullptr;
  Stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) throw std::runtime_error(std::string("state file: ") + sqlite3_errmsg(db));
  }
  ~Stmt() { sqlite3_finalize(st); }
  Stmt& bind(int i, const std::string& s) {
    sqlite3_bind_text(st, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  bool step() {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw std::runtime_error(std::string("state file: ") + sqlite3_errmsg(sqlite3_db_handle(st)));
  }
  std::string text(int i) {
    auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
    return t ? std::string(t, static_cast<std::size_t>(sqlite3_column_bytes(st, i))) : std::string();
  }
};

std::string load_or_create_key(const fs::path& file) {
  std::error_code ec;
  if (fs::exists(file, ec)) {
    struct stat sb {};
    if (::stat(file.c_str(), &sb) == 0 && (sb.st_mode & 077))
      throw std::runtime_error(file.string() + " is readable by others: chmod 600 it");
    std::ifstream in(file, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    auto key = e2ee::base64_decode(text);
    if (!key || key->size() != crypto_secretbox_KEYBYTES) throw std::runtime_error(file.string() + " does not hold a 32-byte key");
    return *key;
  }
  auto key = e2ee::random_bytes(crypto_secretbox_KEYBYTES);
  auto old = ::umask(077);
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << e2ee::base64_encode(key) << "\n";
    if (!out) {
      ::umask(old);
      throw std::runtime_error("cannot write " + file.string());
    }
  }
  ::umask(old);
  return key;
}

}  // namespace

StateFile::StateFile(const fs::path& path, fs::path key_file) {
  if (key_file.empty()) key_file = path.string() + ".key";
  key_ = load_or_create_key(key_file);
  auto old = ::umask(077);
  int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  ::umask(old);
  if (rc != SQLITE_OK) throw std::runtime_error("cannot open state file " + path.string());
  sqlite3_busy_timeout(db_, 5000);
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=FULL");
  exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  exec("CREATE TABLE IF NOT EXISTS mapped (kind TEXT NOT NULL, old_id TEXT NOT NULL, new_id TEXT NOT NULL, "
       "PRIMARY KEY (kind, old_id))");
  exec("CREATE TABLE IF NOT EXISTS megolm_keys (session_id TEXT PRIMARY KEY, room_id TEXT NOT NULL, sealed_key TEXT NOT NULL)");
  exec("CREATE TABLE IF NOT EXISTS room_members (room_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (room_id, user_id))");
  exec("CREATE INDEX IF NOT EXISTS room_members_user ON room_members (user_id)");
  exec("CREATE TABLE IF NOT EXISTS delivered (user_id TEXT NOT NULL, device_id TEXT NOT NULL, session_id TEXT NOT NULL, "
       "PRIMARY KEY (user_id, device_id, session_id))");
}

StateFile::~StateFile() {
  sodium_memzero(key_.data(), key_.size());
  if (db_) sqlite3_close(db_);
}

void StateFile::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "error";
    sqlite3_free(err);
    throw std::runtime_error("state file: " + msg);
  }
}

void StateFile::begin() { exec("BEGIN IMMEDIATE"); }
void StateFile::commit() { exec("COMMIT"); }

std::optional<std::string> StateFile::mapped(const std::string& kind, const std::string& old_id) {
  Stmt s(db_, "SELECT new_id FROM mapped WHERE kind = ? AND old_id = ?");
  s.bind(1, kind).bind(2, old_id);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

void StateFile::map(const std::string& kind, const std::string& old_id, const std::string& new_id) {
  Stmt s(db_, "INSERT OR REPLACE INTO mapped (kind, old_id, new_id) VALUES (?, ?, ?)");
  s.bind(1, kind).bind(2, old_id).bind(3, new_id);
  s.step();
}

std::int64_t StateFile::count(const std::string& kind) {
  Stmt s(db_, "SELECT count(*) FROM mapped WHERE kind = ?");
  s.bind(1, kind);
  s.step();
  return sqlite3_column_int64(s.st, 0);
}

std::optional<std::string> StateFile::meta(const std::string& key) {
  Stmt s(db_, "SELECT value FROM meta WHERE key = ?");
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

void StateFile::set_meta(const std::string& key, const std::string& value) {
  Stmt s(db_, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
  s.bind(1, key).bind(2, value);
  s.step();
}

namespace {
std::string seal(const std::string& key, const std::string& plain) {
  auto nonce = e2ee::random_bytes(crypto_secretbox_NONCEBYTES);
  std::string out(plain.size() + crypto_secretbox_MACBYTES, '\0');
  crypto_secretbox_easy(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(plain.data()),
                        plain.size(), reinterpret_cast<const unsigned char*>(nonce.data()),
                        reinterpret_cast<const unsigned char*>(key.data()));
  return e2ee::base64_encode(nonce + out);
}
std::string open_sealed(const std::string& key, const std::string& sealed) {
  auto raw = e2ee::base64_decode(sealed);
  if (!raw || raw->size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    throw std::runtime_error("state file: a sealed value is damaged");
  std::string out(raw->size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(out.data()),
                                 reinterpret_cast<const unsigned char*>(raw->data()) + crypto_secretbox_NONCEBYTES,
                                 raw->size() - crypto_secretbox_NONCEBYTES, reinterpret_cast<const unsigned char*>(raw->data()),
                                 reinterpret_cast<const unsigned char*>(key.data())) != 0)
    throw std::runtime_error("state file: a sealed value does not open with this key file (wrong --key-file?)");
  return out;
}
}  // namespace

std::optional<std::string> StateFile::secret(const std::string& key) {
  auto v = meta("sealed:" + key);
  if (!v) return std::nullopt;
  return open_sealed(key_, *v);
}

void StateFile::set_secret(const std::string& key, const std::string& value) { set_meta("sealed:" + key, seal(key_, value)); }

void StateFile::add_megolm_key(const MegolmKey& k) {
  Stmt s(db_, "INSERT OR IGNORE INTO megolm_keys (session_id, room_id, sealed_key) VALUES (?, ?, ?)");
  s.bind(1, k.session_id).bind(2, k.room_id).bind(3, seal(key_, k.session_key));
  s.step();
}

std::vector<StateFile::MegolmKey> StateFile::megolm_keys() {
  std::vector<MegolmKey> out;
  Stmt s(db_, "SELECT session_id, room_id, sealed_key FROM megolm_keys ORDER BY rowid");
  while (s.step()) out.push_back({s.text(0), s.text(1), open_sealed(key_, s.text(2))});
  return out;
}

void StateFile::add_room_member(const std::string& room_id, const std::string& user_id) {
  Stmt s(db_, "INSERT OR IGNORE INTO room_members (room_id, user_id) VALUES (?, ?)");
  s.bind(1, room_id).bind(2, user_id);
  s.step();
}

std::vector<std::string> StateFile::rooms_of_member(const std::string& user_id) {
  std::vector<std::string> out;
  Stmt s(db_, "SELECT room_id FROM room_members WHERE user_id = ?");
  s.bind(1, user_id);
  while (s.step()) out.push_back(s.text(0));
  return out;
}

std::vector<std::string> StateFile::members() {
  std::vector<std::string> out;
  Stmt s(db_, "SELECT DISTINCT user_id FROM room_members ORDER BY user_id");
  while (s.step()) out.push_back(s.text(0));
  return out;
}

bool StateFile::delivered(const std::string& user_id, const std::string& device_id, const std::string& session_id) {
  Stmt s(db_, "SELECT 1 FROM delivered WHERE user_id = ? AND device_id = ? AND session_id = ?");
  s.bind(1, user_id).bind(2, device_id).bind(3, session_id);
  return s.step();
}

void StateFile::mark_delivered(const std::string& user_id, const std::string& device_id, const std::string& session_id) {
  Stmt s(db_, "INSERT OR IGNORE INTO delivered (user_id, device_id, session_id) VALUES (?, ?, ?)");
  s.bind(1, user_id).bind(2, device_id).bind(3, session_id);
  s.step();
}

std::int64_t StateFile::delivered_count() {
  Stmt s(db_, "SELECT count(*) FROM delivered");
  s.step();
  return sqlite3_column_int64(s.st, 0);
}

std::string StateFile::pickle_key() const {
  return e2ee::sha256("lotse-bridge olm pickle:" + key_);
}

}  // namespace lotse::bridge
