// The group commit's background sync (Database::sync_in_background): a commit's waiters and
// after-commit callbacks wait for the fdatasync of its WAL frames, on the sync thread; the network
// thread goes on meanwhile.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include <sqlite3.h>

#include "server/store/database.hpp"

using namespace lotse::store;

namespace {

// A gate the sync thread waits at before each fdatasync, opened by the test.
struct Gate {
  std::mutex m;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> reached{0};
  void wait() {
    ++reached;
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return open; });
  }
  void release() {
    {
      std::lock_guard lock(m);
      open = true;
    }
    cv.notify_all();
  }
};

boost::asio::awaitable<void> write_and_commit(Database& db, bool& callback_ran, bool& acknowledged) {
  {
    WriteUnit unit(db);
    db.conn().exec("INSERT INTO meta (key, value) VALUES ('test-key', 'v')");
    unit.after_commit([&] { callback_ran = true; });
    unit.release();
  }
  co_await db.commit();
  acknowledged = true;
}

boost::asio::awaitable<void> commit_only(Database& db, bool& acknowledged) {
  co_await db.commit();
  acknowledged = true;
}

void run_until(boost::asio::io_context& io, const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

TEST_CASE("background sync: nothing is acknowledged or announced before its WAL frames are synced") {
  auto dir = std::filesystem::temp_directory_path() / ("lotse-db-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    boost::asio::io_context io;
    Database db((dir / "lotse.db").string(), io.get_executor());
    Gate gate;
    db.set_sync_hook([&] { gate.wait(); });
    REQUIRE(db.sync_in_background());

    bool callback_ran = false, acknowledged = false, late_acknowledged = false;
    boost::asio::co_spawn(io, write_and_commit(db, callback_ran, acknowledged), boost::asio::detached);
    run_until(io, [&] { return gate.reached.load() > 0; });
    REQUIRE(gate.reached.load() == 1);  // committed, its sync under way
    io.restart();
    io.run_for(std::chrono::milliseconds(50));
    CHECK_FALSE(acknowledged);
    CHECK_FALSE(callback_ran);
    // The row is committed (visible) but not yet acknowledged; a request that commits nothing new
    // of its own waits for the same sync.
    auto st = db.conn().prepare("SELECT value FROM meta WHERE key = 'test-key'");
    CHECK(st.step());
    boost::asio::co_spawn(io, commit_only(db, late_acknowledged), boost::asio::detached);
    io.restart();
    io.run_for(std::chrono::milliseconds(50));
    CHECK_FALSE(late_acknowledged);

    gate.release();
    run_until(io, [&] { return acknowledged && late_acknowledged; });
    CHECK(callback_ran);
    CHECK(acknowledged);
    CHECK(late_acknowledged);
  }
  std::filesystem::remove_all(dir);
}

namespace {
boost::asio::awaitable<void> writer(Database& db, int id, int commits, int& done) {
  for (int i = 0; i < commits; ++i) {
    {
      WriteUnit unit(db);
      auto st = db.conn().prepare("INSERT INTO meta (key, value) VALUES (?, 'v')");
      st.bind_all("w" + std::to_string(id) + "-" + std::to_string(i));
      st.run();
      unit.release();
    }
    co_await db.commit();
  }
  ++done;
}
}  // namespace

TEST_CASE("background sync: under steady writes the WAL is checkpointed beside them and starts over") {
  auto dir = std::filesystem::temp_directory_path() / ("lotse-db-wal-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = (dir / "lotse.db").string();
  {
    boost::asio::io_context io;
    Database db(path, io.get_executor());
    REQUIRE(db.sync_in_background());
    int done = 0;
    constexpr int kWriters = 10, kCommits = 150;
    for (int w = 0; w < kWriters; ++w) boost::asio::co_spawn(io, writer(db, w, kCommits, done), boost::asio::detached);
    auto started = std::chrono::steady_clock::now();
    run_until(io, [&] { return done == kWriters && std::chrono::steady_clock::now() - started > std::chrono::seconds(1); });
    REQUIRE(done == kWriters);
    // Every row is there, and the WAL holds fewer frames than were written since it was created:
    // it was checkpointed and started over while the writes went on.
    {
      auto count = db.conn().prepare("SELECT count(*) FROM meta WHERE key LIKE 'w%'");
      REQUIRE(count.step());
      CHECK(count.int64(0) == kWriters * kCommits);
    }
    int log_frames = -1, copied = -1;
    REQUIRE(sqlite3_wal_checkpoint_v2(db.conn().handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &copied) == SQLITE_OK);
    CHECK(log_frames >= 0);
    CHECK(log_frames < kWriters * kCommits);  // at least one frame per commit without a restart
    CHECK(std::filesystem::file_size(path) > 4096);
  }
  std::filesystem::remove_all(dir);
}
