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
#include <fstream>
#include <mutex>
#include <thread>

#include <sqlite3.h>

#include "server/store/database.hpp"

using namespace lotse::store;

namespace {

// A gate the sync thread waits at after each fdatasync, before it hands the commits back: the test
// lets a number of syncs through.
struct Gate {
  std::mutex m;
  std::condition_variable cv;
  int passes = 0;
  std::atomic<int> reached{0};
  void wait() {
    ++reached;
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return passes > 0; });
    --passes;
  }
  void allow(int n) {
    {
      std::lock_guard lock(m);
      passes += n;
    }
    cv.notify_all();
  }
};

boost::asio::awaitable<void> write_and_commit(Database& db, std::string key, bool& callback_ran, bool& acknowledged) {
  {
    WriteUnit unit(db);
    auto st = db.conn().prepare("INSERT INTO meta (key, value) VALUES (?, 'v')");
    st.bind_all(key);
    st.run();
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
    Gate gate;  // before the database: its sync thread may wait here until the database goes
    Database db((dir / "lotse.db").string(), io.get_executor());
    db.set_sync_hook([&] { gate.wait(); });
    REQUIRE(db.sync_in_background());

    bool callback_ran = false, acknowledged = false, late_acknowledged = false;
    boost::asio::co_spawn(io, write_and_commit(db, "test-key", callback_ran, acknowledged), boost::asio::detached);
    run_until(io, [&] { return gate.reached.load() > 0; });
    REQUIRE(gate.reached.load() == 1);  // committed and synced, not yet handed back
    io.restart();
    io.run_for(std::chrono::milliseconds(50));
    CHECK_FALSE(acknowledged);
    CHECK_FALSE(callback_ran);
    // The row is committed (visible) but not yet acknowledged; a request that commits nothing new
    // of its own waits for the same sync.
    {
      auto st = db.conn().prepare("SELECT value FROM meta WHERE key = 'test-key'");
      CHECK(st.step());
    }
    boost::asio::co_spawn(io, commit_only(db, late_acknowledged), boost::asio::detached);
    io.restart();
    io.run_for(std::chrono::milliseconds(50));
    CHECK_FALSE(late_acknowledged);

    // A second commit made while the first one's sync is under way is not released with it.
    bool second_callback = false, second_acknowledged = false;
    boost::asio::co_spawn(io, write_and_commit(db, "second-key", second_callback, second_acknowledged), boost::asio::detached);
    io.restart();
    io.run_for(std::chrono::milliseconds(50));
    gate.allow(1);
    run_until(io, [&] { return acknowledged && late_acknowledged; });
    CHECK(callback_ran);
    CHECK(acknowledged);
    CHECK(late_acknowledged);
    run_until(io, [&] { return gate.reached.load() > 1; });
    io.restart();
    io.run_for(std::chrono::milliseconds(50));
    CHECK_FALSE(second_acknowledged);
    CHECK_FALSE(second_callback);
    gate.allow(100);
    run_until(io, [&] { return second_acknowledged; });
    CHECK(second_callback);
    CHECK(second_acknowledged);
  }
  std::filesystem::remove_all(dir);
}

namespace {
boost::asio::awaitable<void> writer(Database& db, int id, const std::chrono::steady_clock::time_point& until, int& done) {
  for (int i = 0; std::chrono::steady_clock::now() < until; ++i) {
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

// The WAL header's checkpoint sequence number, which grows each time the WAL starts over.
std::uint32_t wal_checkpoint_sequence(const std::string& wal) {
  std::ifstream f(wal, std::ios::binary);
  unsigned char h[16] = {};
  f.read(reinterpret_cast<char*>(h), sizeof h);
  return (std::uint32_t{h[12]} << 24) | (std::uint32_t{h[13]} << 16) | (std::uint32_t{h[14]} << 8) | h[15];
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
    auto before = wal_checkpoint_sequence(path + "-wal");
    int done = 0;
    constexpr int kWriters = 10;
    // Writes without a pause for 1.5 s: the checkpoints (every 250 ms) run beside them.
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
    for (int w = 0; w < kWriters; ++w) boost::asio::co_spawn(io, writer(db, w, until, done), boost::asio::detached);
    run_until(io, [&] { return done == kWriters; });
    REQUIRE(done == kWriters);
    CHECK(wal_checkpoint_sequence(path + "-wal") > before);
  }
  std::filesystem::remove_all(dir);
}
