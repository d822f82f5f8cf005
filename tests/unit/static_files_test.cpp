// The web app's allow-list: only files listed from the build directory, looked up as strings.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "server/http/static_files.hpp"

namespace fs = std::filesystem;
using lotse::http::StaticFiles;

TEST_CASE("scan lists regular files only, without symlinks or hidden files") {
  fs::path dir = fs::temp_directory_path() / ("lotse-static-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "assets");
  fs::create_directories(dir / ".git");
  std::ofstream(dir / "index.html") << "app";
  std::ofstream(dir / "assets" / "a.js") << "js";
  std::ofstream(dir / ".env") << "secret";
  std::ofstream(dir / ".git" / "config") << "secret";
  std::ofstream(dir / "with space.txt") << "x";
  fs::create_symlink("/etc/passwd", dir / "passwd");
  fs::create_directory_symlink("/etc", dir / "etc");

  auto files = StaticFiles::scan(dir.string());
  CHECK(files.size() == 2);
  CHECK(files.find("/"));
  CHECK(files.find("/index.html"));
  CHECK(files.find("/assets/a.js"));
  CHECK(files.find("/assets%2Fa.js"));  // an encoded slash names the same listed file, nothing else
  CHECK_FALSE(files.find("/.env"));
  CHECK_FALSE(files.find("/.git/config"));
  CHECK_FALSE(files.find("/passwd"));
  CHECK_FALSE(files.find("/etc/passwd"));
  CHECK_FALSE(files.find("//etc/passwd"));
  CHECK_FALSE(files.find("/%2Fetc/passwd"));
  CHECK_FALSE(files.find("/assets/../index.html"));
  CHECK_FALSE(files.find(dir.string() + "/index.html"));
  fs::remove_all(dir);
}

TEST_CASE("app routes are plain paths only") {
  CHECK(StaticFiles::is_app_route("/"));
  CHECK(StaticFiles::is_app_route("/chat/room-1"));
  CHECK_FALSE(StaticFiles::is_app_route("//etc"));
  CHECK_FALSE(StaticFiles::is_app_route("/a.js"));
  CHECK_FALSE(StaticFiles::is_app_route("/%2e%2e"));
  CHECK_FALSE(StaticFiles::is_app_route("/a\\b"));
  CHECK_FALSE(StaticFiles::is_app_route(""));
  CHECK_FALSE(StaticFiles::is_app_route("a"));
}
