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
