// The instance's SQLite database: opening, migrations, the global stream counter, and group commit.
//
// All request handling runs on one thread, so one connection serves reads and writes. Writes happen in
// synchronous "write units" (a SAVEPOINT inside a shared transaction); a handler then awaits commit(),
// which commits every unit finished so far with one fsync and wakes all their handlers together.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/metrics.hpp"
#include "server/store/sqlite.hpp"

namespace lotse::store {

class Database;

// One handler's writes: rolled back when destroyed without release(). Must not span a co_await.
class WriteUnit {
 public:
  explicit WriteUnit(Database& db);
  WriteUnit(const WriteUnit&) = delete;
  ~WriteUnit();
  // Runs `fn` after the transaction holding this unit has been committed.
  void after_commit(std::function<void()> fn) { callbacks_.push_back(std::move(fn)); }
  // Runs `fn` if this unit is rolled back (to drop in-memory state derived from its writes).
  void on_rollback(std::function<void()> fn) { rollback_callbacks_.push_back(std::move(fn)); }
  void release();

 private:
  Database& db_;
  bool released_ = false;
  std::vector<std::function<void()>> callbacks_;
  std::vector<std::function<void()>> rollback_callbacks_;
};

class Database {
 public:
  Database(const std::string& path, boost::asio::any_io_executor executor);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // The server's mode (not the tools'): a group commit writes its WAL frames without waiting for
  // the disk (synchronous = NORMAL), and a thread of its own makes them durable with fdatasync; only
  // then are the commit's waiters woken and its after-commit callbacks run, so nothing is
  // acknowledged before it is on disk, as with synchronous = FULL, while the network thread goes on
  // with the next batch. One fdatasync covers every commit made while the previous one ran. Returns
  // false (and stays with FULL) when the WAL file cannot be opened.
  bool sync_in_background();
  // Shutdown, before the io_context stops: ends the sync thread (so it never posts to an io_context
  // being shut down), commits and syncs what is left, and releases every commit still waiting.
  void stop_background_sync();
  // Tests: called on the sync thread after each fdatasync, before its commits are handed back; set
  // before sync_in_background().
  void set_sync_hook(std::function<void()> hook) { sync_hook_ = std::move(hook); }

  Connection& conn() { return conn_; }
  // Where group commits are counted (GET /metrics); optional.
  void set_metrics(Metrics* m) { metrics_ = m; }
  // Allocates the next position of the global stream (events, receipts, account data, ...).
  std::int64_t next_stream_id();
  std::int64_t current_stream_id() const { return stream_id_; }

  // Commits every released write unit; returns once they are durable. A failed commit ends the process.
  boost::asio::awaitable<void> commit();
  // Schedules a group commit without waiting for it (for writes nobody awaits).
  void commit_soon();
  // Synchronous commit for start-up and tools (no batching).
  void commit_now();
  bool healthy();
  // Whether a write unit is open: an in-memory copy of what it wrote could still be rolled back.
  bool in_write_unit() const { return unit_depth_ > 0; }

 private:
  friend class WriteUnit;
  void apply_migrations();
  void flush();
  void sync_loop();
  void synced(std::uint64_t generation, int error);
  void release_synced(std::uint64_t generation);
  void sync_wal_now();
  [[noreturn]] static void exit_on_sync_failure(int error);
  void join_sync_thread();

  Connection conn_;
  boost::asio::any_io_executor executor_;
  std::int64_t stream_id_ = 0;
  Metrics* metrics_ = nullptr;
  int unit_depth_ = 0;
  bool flush_posted_ = false;
  std::vector<std::function<void()>> pending_callbacks_;
  struct Waiter {
    std::shared_ptr<boost::asio::steady_timer> timer;
  };
  std::vector<Waiter> waiters_;

  // Background sync (sync_in_background): commits whose frames are written but not yet synced.
  struct Unsynced {
    std::uint64_t generation;
    std::vector<std::function<void()>> callbacks;
    std::vector<Waiter> waiters;
    std::chrono::steady_clock::time_point started;
  };
  std::string path_;
  int wal_fd_ = -1;
  std::deque<Unsynced> unsynced_;  // network thread
  std::uint64_t committed_generation_ = 0;  // network thread
  std::function<void()> sync_hook_;
  std::mutex sync_mutex_;
  std::condition_variable sync_cv_;
  std::uint64_t sync_requested_ = 0;  // guarded by sync_mutex_
  bool sync_stop_ = false;            // guarded by sync_mutex_
  std::atomic<bool> wal_caught_up_{false};  // set by the sync thread's checkpoint, taken by flush()
  std::unique_ptr<Connection> checkpointer_;  // the sync thread's, opened before it starts
  std::thread sync_thread_;
};

}  // namespace lotse::store
