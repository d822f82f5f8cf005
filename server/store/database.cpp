// Database set-up, migrations and group commit.
#include "server/store/database.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <sqlite3.h>

#include "server/log.hpp"
#include "server/store/migrations.hpp"

namespace lotse::store {
namespace {
constexpr std::chrono::milliseconds kCheckpointEvery{250};
}  // namespace

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
    : conn_(path), executor_(std::move(executor)), path_(path) {
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
  if (wal_fd_ >= 0) sync_wal_now();  // start-up and shutdown: durable before anything runs on
  auto callbacks = std::move(pending_callbacks_);
  pending_callbacks_.clear();
  for (auto& cb : callbacks) cb();
}

void Database::sync_wal_now() {
  if (::fdatasync(wal_fd_) != 0) exit_on_sync_failure(errno);
}

// As a failed commit: the writes may not be on disk, and the in-memory state says they are.
void Database::exit_on_sync_failure(int error) {
  std::fprintf(stderr, "lotse: syncing the database's WAL failed, exiting: %s\n", std::strerror(error));
  std::_Exit(70);
}

void Database::join_sync_thread() {
  if (!sync_thread_.joinable()) return;
  {
    std::lock_guard lock(sync_mutex_);
    sync_stop_ = true;
  }
  sync_cv_.notify_one();
  sync_thread_.join();
}

void Database::flush() {
  flush_posted_ = false;
  auto waiters = std::move(waiters_);
  waiters_.clear();
  auto started = std::chrono::steady_clock::now();
  try {
    if (wal_fd_ >= 0) {
      // Frames written; durable once the sync thread's fdatasync returns (synced()).
      if (conn_.in_transaction()) conn_.exec("COMMIT");
      // The WAL starts over only if a write begins when all of it is in the database file. Under
      // steady load the sync thread's checkpoint never sees that moment, so when it has caught up
      // the writer copies the few frames since (and the next write restarts the WAL).
      if (wal_caught_up_.exchange(false) &&
          (sqlite3_wal_checkpoint_v2(conn_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) & 0xff) == SQLITE_IOERR)
        throw DatabaseError(std::string("checkpointing the WAL failed: ") + sqlite3_errmsg(conn_.handle()));
      unsynced_.push_back(Unsynced{++committed_generation_, std::move(pending_callbacks_), std::move(waiters), started});
      pending_callbacks_.clear();
      {
        std::lock_guard lock(sync_mutex_);
        sync_requested_ = committed_generation_;
      }
      sync_cv_.notify_one();
      return;
    }
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

bool Database::sync_in_background() {
  if (wal_fd_ >= 0) return true;
  commit_now();
  // The WAL's name as SQLite has it (next to the database file a symlink points at, say).
  const char* wal_name = sqlite3_filename_wal(sqlite3_db_filename(conn_.handle(), "main"));
  std::string wal = wal_name ? wal_name : "";
  int fd = wal.empty() ? -1 : ::open(wal.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    log_line("warn", "the database's WAL cannot be opened: commits wait for the disk themselves",
             {{"path", wal}, {"error", std::strerror(errno)}});
    return false;
  }
  // The checkpoints move to the sync thread's own connection; without one they stay in the commits.
  try {
    checkpointer_ = std::make_unique<Connection>(path_);
    checkpointer_->exec("SELECT count(*) FROM sqlite_schema");  // a connection is in WAL mode once it has read
    checkpointer_->exec("PRAGMA synchronous = FULL");  // a checkpoint syncs the WAL before it copies
  } catch (const DatabaseError& e) {
    log_line("warn", "no checkpoint connection: the WAL is checkpointed inside the commits", {{"error", e.what()}});
    checkpointer_.reset();
  }
  conn_.exec("PRAGMA synchronous = NORMAL");
  if (checkpointer_) conn_.exec("PRAGMA wal_autocheckpoint = 0");  // the sync thread checkpoints (sync_loop)
  conn_.exec("PRAGMA journal_size_limit = 67108864");  // a WAL that starts over is cut back to 64 MB
  wal_fd_ = fd;
  sync_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "lotse-wal-sync");
    sync_loop();
  });
  return true;
}

void Database::stop_background_sync() {
  join_sync_thread();
  commit_now();  // COMMIT (and fdatasync): everything written so far is on disk
  release_synced(committed_generation_);
  // From here on every commit waits for the disk itself, as the tools' do.
  if (wal_fd_ >= 0) {
    conn_.exec("PRAGMA synchronous = FULL");
    ::close(wal_fd_);
    wal_fd_ = -1;
  }
}

// The sync thread: one fdatasync for everything committed up to now, then the network thread
// releases those commits. Between syncs, when no commit waits for the next one, it checkpoints the
// WAL into the database file (which SQLite would otherwise do inside a COMMIT on the network
// thread) on its own connection, passive: it never waits for the writer nor makes it wait.
void Database::sync_loop() {
  auto last_checkpoint = std::chrono::steady_clock::now();
  std::unique_lock lock(sync_mutex_);
  std::uint64_t done = 0;
  for (;;) {
    sync_cv_.wait(lock, [&] { return sync_stop_ || sync_requested_ > done; });
    if (sync_requested_ <= done) return;  // stopping, nothing left
    std::uint64_t target = sync_requested_;
    lock.unlock();
    int error = ::fdatasync(wal_fd_) == 0 ? 0 : errno;
    if (sync_hook_) sync_hook_();
    boost::asio::post(executor_, [this, target, error] { synced(target, error); });
    lock.lock();
    done = target;
    // Not while a commit waits for the next sync, unless the WAL has gone unchecked for too long.
    auto since = std::chrono::steady_clock::now() - last_checkpoint;
    bool waited_for = sync_requested_ > done || sync_stop_;
    if (!checkpointer_ || since < kCheckpointEvery || (waited_for && since < 8 * kCheckpointEvery)) continue;
    lock.unlock();
    int log_frames = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(checkpointer_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &copied);
    if ((rc & 0xff) == SQLITE_IOERR) {
      // As a failed sync: the database file may not hold what the WAL gave it.
      std::fprintf(stderr, "lotse: checkpointing the database's WAL failed, exiting: %s\n",
                   sqlite3_errmsg(checkpointer_->handle()));
      std::_Exit(70);
    }
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
      log_line("warn", "WAL checkpoint failed", {{"error", sqlite3_errmsg(checkpointer_->handle())}});
    // All of it copied: the writer copies what came since and so lets the WAL start over.
    if (rc == SQLITE_OK && log_frames > 0 && copied == log_frames) wal_caught_up_.store(true);
    last_checkpoint = std::chrono::steady_clock::now();
    lock.lock();
  }
}

void Database::synced(std::uint64_t generation, int error) {
  if (error != 0) exit_on_sync_failure(error);
  if (metrics_) metrics_->wal_sync();
  release_synced(generation);
}

void Database::release_synced(std::uint64_t generation) {
  try {
    auto now = std::chrono::steady_clock::now();
    while (!unsynced_.empty() && unsynced_.front().generation <= generation) {
      auto batch = std::move(unsynced_.front());
      unsynced_.pop_front();
      if (metrics_)
        metrics_->commit(batch.waiters.size(), std::chrono::duration_cast<std::chrono::microseconds>(now - batch.started));
      for (auto& cb : batch.callbacks) cb();
      for (auto& w : batch.waiters) w.timer->cancel();
    }
  } catch (const std::exception& e) {
    // As in flush(): an after-commit callback that throws leaves in-memory state behind the database.
    std::fprintf(stderr, "lotse: after a database commit, exiting: %s\n", e.what());
    std::_Exit(70);
  }
}

void Database::commit_soon() {
  if (!conn_.in_transaction() || flush_posted_) return;
  flush_posted_ = true;
  boost::asio::post(executor_, [this] { flush(); });
}

boost::asio::awaitable<void> Database::commit() {
  if (!conn_.in_transaction() && unsynced_.empty()) co_return;
  Waiter w{std::make_shared<boost::asio::steady_timer>(executor_, boost::asio::steady_timer::time_point::max())};
  if (!conn_.in_transaction()) {
    // Written and committed by an earlier batch (while this request waited for something else)
    // whose sync may still be running: durable with the newest one.
    unsynced_.back().waiters.push_back(w);
    boost::system::error_code ec;
    co_await w.timer->async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    co_return;
  }
  waiters_.push_back(w);
  if (!flush_posted_) {
    flush_posted_ = true;
    boost::asio::post(executor_, [this] { flush(); });
  }
  boost::system::error_code ec;
  co_await w.timer->async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
}

Database::~Database() {
  join_sync_thread();  // when stop_background_sync() was not called (tests, start-up failures)
  checkpointer_.reset();
  if (wal_fd_ >= 0) ::close(wal_fd_);
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
