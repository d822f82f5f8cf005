// Thin RAII wrapper over SQLite: a connection, prepared statements with bound parameters, rows.
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

namespace lotse::store {

struct DatabaseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Statement {
 public:
  // `in_use` is the cache slot's flag: a cached statement is reset and handed back on destruction.
  Statement(sqlite3* db, sqlite3_stmt* stmt, bool* in_use = nullptr) : db_(db), stmt_(stmt), in_use_(in_use) {}
  Statement(const Statement&) = delete;
  Statement(Statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_), in_use_(o.in_use_) { o.stmt_ = nullptr; }
  ~Statement();

  Statement& bind(int idx, std::int64_t v);
  Statement& bind(int idx, int v) { return bind(idx, static_cast<std::int64_t>(v)); }
  Statement& bind(int idx, long long v) { return bind(idx, static_cast<std::int64_t>(v)); }
  Statement& bind(int idx, std::string_view v);
  Statement& bind(int idx, const char* v) { return bind(idx, std::string_view(v)); }
  Statement& bind(int idx, const std::string& v) { return bind(idx, std::string_view(v)); }
  Statement& bind(int idx, std::nullopt_t);
  Statement& bind(int idx, const std::optional<std::string>& v);
  Statement& bind(int idx, const std::optional<std::int64_t>& v) { return v ? bind(idx, *v) : bind(idx, std::nullopt); }

  template <typename... Args>
  Statement& bind_all(const Args&... args) {
    int i = 1;
    (bind(i++, args), ...);
    return *this;
  }

  bool step();  // true when a row is available
  void run() { while (step()) {} }
  std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) const;
  std::optional<std::string> opt_text(int col) const;
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  void reset();

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool* in_use_;
};

class Connection {
 public:
  explicit Connection(const std::string& path);
  Connection(const Connection&) = delete;
  ~Connection();

  void exec(std::string_view sql);
  // A prepared statement, ready to bind. Statements are cached by SQL text; if the cached one is
  // still in use (a nested query with the same text), a one-off statement is prepared instead.
  Statement prepare(std::string_view sql);
  std::int64_t changes() const { return sqlite3_changes(db_); }
  std::int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  bool in_transaction() const { return !sqlite3_get_autocommit(db_); }
  sqlite3* handle() { return db_; }
  // Defines the SQL function `name(text)` on this connection, calling `fn` with its argument (empty
  // for NULL): TEMP triggers call it to tell an in-memory cache which rows changed, whoever wrote
  // them. Defining the same name again replaces the function (with nullptr: one that does nothing).
  void define_function(const std::string& name, std::function<void(std::string_view)> fn);

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<std::function<void(std::string_view)>>> functions_;
  struct Cached {
    sqlite3_stmt* stmt;
    bool in_use;
  };
  std::unordered_map<std::string, Cached> cache_;
};

}  // namespace lotse::store
