// Database set-up, migrations and group commit.
#include "server/store/database.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <cstdlib>

#include "server/store/migrations.hpp"

namespace lotse::store {

WriteUnit::WriteUnit(Database& db) : db_(db) {
  if (!db_.conn_.in_transaction()) db_.conn_.prepare("BEGIN IMMEDIATE").run();
  db_.conn_.prepare("SAVEPOINT unit").run();
  ++db_.unit_depth_;
}

WriteUnit::~WriteUnit() {
  if (released_) return;
  --db_.unit_depth_;
  try {
    db_.conn_.exec("ROLLBACK TO unit");
    db_.conn_.exec("RELEASE unit");
  } catch (...) {
  }
  for (auto& cb : rollback_callbacks_) cb();
}

void WriteUnit::release() {
  auto st = db_.conn_.prepare("UPDATE meta SET value = ? WHERE key = 'stream_id'");
  st.bind_all(std::to_string(db_.stream_id_));
  st.run();
  db_.conn_.prepare("RELEASE unit").run();
  released_ = true;
  --db_.unit_depth_;
  for (auto& cb : callbacks_) db_.pending_callbacks_.push_back(std::move(cb));
  callbacks_.clear();
}

Database::Database(const std::string& path, boost::asio::any_io_executor executor)
    : conn_(path), executor_(std::move(executor)) {
  conn_.exec("PRAGMA journal_mode = WAL");
  conn_.exec("PRAGMA synchronous = FULL");
  conn_.exec("PRAGMA foreign_keys = ON");
  conn_.exec("PRAGMA cache_size = -8000");
  apply_migrations();
  auto st = conn_.prepare("SELECT value FROM meta WHERE key = 'stream_id'");
  if (st.step()) stream_id_ = std::stoll(st.text(0));
}

void Database::apply_migrations() {
  conn_.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  std::int64_t current = 0;
  {
    auto st = conn_.prepare("SELECT max(version) FROM schema_version");
    if (st.step() && !st.is_null(0)) current = st.int64(0);
  }
  // A database written by a newer lotse may hold what this binary does not understand: refuse to
  // touch it rather than guess (the operator runs the newer version again or restores a backup).
  if (!migrations().empty() && current > migrations().back().version)
    throw DatabaseError("the database has schema version " + std::to_string(current) + ", newer than this lotse (" +
                        std::to_string(migrations().back().version) +
                        "): it was written by a newer version; start that version again or restore a backup");
  for (const auto& m : migrations()) {
    if (m.version <= current) continue;
    conn_.exec("BEGIN IMMEDIATE");
    try {
      conn_.exec(m.sql);
      conn_.exec("INSERT INTO schema_version (version) VALUES (" + std::to_string(m.version) + ")");
      if (m.version == 1) conn_.exec("INSERT INTO meta (key, value) VALUES ('stream_id', '0')");
      conn_.exec("COMMIT");
    } catch (const DatabaseError& e) {
      conn_.exec("ROLLBACK");
      throw DatabaseError("migration " + std::to_string(m.version) + " failed: " + e.what());
    }
  }
}

std::int64_t Database::next_stream_id() { return ++stream_id_; }

void Database::commit_now() {
  if (conn_.in_transaction()) conn_.exec("COMMIT");
  auto callbacks = std::move(pending_callbacks_);
  pending_callbacks_.clear();
  for (auto& cb : callbacks) cb();
}

void Database::flush() {
  flush_posted_ = false;
  auto waiters = std::move(waiters_);
  waiters_.clear();
  auto started = std::chrono::steady_clock::now();
  try {
    commit_now();
    if (metrics_)
      metrics_->commit(waiters.size(), std::chrono::duration_cast<std::chrono::microseconds>(
                                           std::chrono::steady_clock::now() - started));
  } catch (const std::exception& e) {
    // In-memory state (stream positions, caches, woken clients) already reflects these writes, and
    // none of them was acknowledged: stopping is the only way to stay consistent. The supervisor
    // restarts the process and clients retry their requests.
    std::fprintf(stderr, "lotse: database commit failed, exiting: %s\n", e.what());
    std::_Exit(70);
  }
  for (auto& w : waiters) w.timer->cancel();
}

void Database::commit_soon() {
  if (!conn_.in_transaction() || flush_posted_) return;
  flush_posted_ = true;
  boost::asio::post(executor_, [this] { flush(); });
}

boost::asio::awaitable<void> Database::commit() {
  if (!conn_.in_transaction()) co_return;
  Waiter w{std::make_shared<boost::asio::steady_timer>(executor_, boost::asio::steady_timer::time_point::max())};
  waiters_.push_back(w);
  if (!flush_posted_) {
    flush_posted_ = true;
    boost::asio::post(executor_, [this] { flush(); });
  }
  boost::system::error_code ec;
  co_await w.timer->async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
}

bool Database::healthy() {
  try {
    if (conn_.in_transaction()) return true;
    conn_.exec("BEGIN IMMEDIATE; UPDATE meta SET value = value WHERE key = 'stream_id'; COMMIT");
    return true;
  } catch (...) {
    try {
      conn_.exec("ROLLBACK");
    } catch (...) {
    }
    return false;
  }
}

}  // namespace lotse::store
