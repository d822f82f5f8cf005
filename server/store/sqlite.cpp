// SQLite wrapper implementation.
#include "server/store/sqlite.hpp"

namespace lotse::store {

Statement::~Statement() {
  if (!stmt_) return;
  if (in_use_) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    *in_use_ = false;
  } else {
    sqlite3_finalize(stmt_);
  }
}

Statement& Statement::bind(int idx, std::int64_t v) {
  sqlite3_bind_int64(stmt_, idx, v);
  return *this;
}
Statement& Statement::bind(int idx, std::string_view v) {
  sqlite3_bind_text(stmt_, idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bind(int idx, std::nullopt_t) {
  sqlite3_bind_null(stmt_, idx);
  return *this;
}
Statement& Statement::bind(int idx, const std::optional<std::string>& v) {
  return v ? bind(idx, std::string_view(*v)) : bind(idx, std::nullopt);
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw DatabaseError(std::string("sqlite step: ") + sqlite3_errmsg(db_));
}

std::string Statement::text(int col) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return p ? std::string(p, sqlite3_column_bytes(stmt_, col)) : std::string();
}

std::optional<std::string> Statement::opt_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return text(col);
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Connection::Connection(const std::string& path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw DatabaseError("cannot open database " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
}

Connection::~Connection() {
  for (auto& [sql, c] : cache_) sqlite3_finalize(c.stmt);
  if (db_) sqlite3_close_v2(db_);
}

void Connection::exec(std::string_view sql) {
  char* err = nullptr;
  std::string s(sql);
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw DatabaseError("sqlite exec: " + msg);
  }
}

void Connection::define_function(const std::string& name, std::function<void(std::string_view)> fn) {
  auto& slot = functions_[name];
  auto next = std::make_unique<std::function<void(std::string_view)>>(std::move(fn));
  auto call = [](sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    auto* f = static_cast<std::function<void(std::string_view)>*>(sqlite3_user_data(ctx));
    const auto* text = argc > 0 ? sqlite3_value_text(argv[0]) : nullptr;
    std::string_view arg = text ? std::string_view(reinterpret_cast<const char*>(text), sqlite3_value_bytes(argv[0]))
                                : std::string_view();
    if (*f) (*f)(arg);
    sqlite3_result_null(ctx);
  };
  if (sqlite3_create_function_v2(db_, name.c_str(), 1, SQLITE_UTF8, next.get(), call, nullptr, nullptr, nullptr) !=
      SQLITE_OK)
    throw DatabaseError("sqlite function " + name + ": " + sqlite3_errmsg(db_));
  slot = std::move(next);  // the previous one is no longer referenced by SQLite
}

Statement Connection::prepare(std::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it != cache_.end() && !it->second.in_use) {
    it->second.in_use = true;
    return Statement(db_, it->second.stmt, &it->second.in_use);
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK)
    throw DatabaseError(std::string("sqlite prepare: ") + sqlite3_errmsg(db_) + " in: " + std::string(sql));
  if (it == cache_.end()) {
    auto [slot, inserted] = cache_.emplace(std::string(sql), Cached{stmt, true});
    return Statement(db_, stmt, &slot->second.in_use);
  }
  return Statement(db_, stmt);
}

}  // namespace lotse::store
