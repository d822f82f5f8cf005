// Media storage on a real SQLite file: content addressing, and removal (used by account erasure
// and retention) that deletes a file only when nothing refers to it any more.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <fstream>

#include "e2ee/crypto.hpp"
#include "server/core/media.hpp"

using namespace lotse;
namespace fs = std::filesystem;

namespace {
std::string write_temp(const std::string& dir, const std::string& name, const std::string& content) {
  auto path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}
std::string hex_sha(const std::string& s) {
  e2ee::Sha256 h;
  h.update(s);
  return h.hex_digest();
}
}  // namespace

TEST_CASE("identical uploads share one file; the file goes with its last reference") {
  auto dir = fs::temp_directory_path() / ("lotse-media-test-" + e2ee::random_token(6));
  fs::create_directories(dir);
  {
    boost::asio::io_context io;
    store::Database db((dir / "lotse.db").string(), io.get_executor());
    core::Media media(db, (dir / "media").string());
    std::string content = "Mietvertrag, Seite 1";
    auto sha = hex_sha(content);
    {
      store::WriteUnit unit(db);
      media.store(unit, "m1", "@a:hs", "application/pdf", "a.pdf", write_temp(media.upload_dir(), "u1", content),
                  static_cast<std::int64_t>(content.size()), sha);
      media.store(unit, "m2", "@b:hs", "application/pdf", "b.pdf", write_temp(media.upload_dir(), "u2", content),
                  static_cast<std::int64_t>(content.size()), sha);
      media.store_thumbnail(unit, "m1", 32, 32, "scale", "image/jpeg", "thumbnail bytes");
      unit.release();
    }
    db.commit_now();
    CHECK(fs::exists(media.path_for(sha)));
    CHECK(fs::is_empty(media.upload_dir()));
    CHECK(media.bytes_used("@a:hs") == static_cast<std::int64_t>(content.size()));
    auto thumb_path = media.path_for(media.thumbnail("m1", 32, 32, "scale")->sha256);
    CHECK(fs::exists(thumb_path));

    {
      store::WriteUnit unit(db);
      media.remove_all_of_user(unit, "@a:hs");
      unit.release();
    }
    db.commit_now();
    CHECK_FALSE(media.find("m1"));
    CHECK_FALSE(fs::exists(thumb_path));
    CHECK(fs::exists(media.path_for(sha)));  // still used by m2

    {
      store::WriteUnit unit(db);
      media.remove(unit, "m2");
      // A rolled-back removal would keep the file: it is deleted only after the commit.
      CHECK(fs::exists(media.path_for(sha)));
      unit.release();
    }
    db.commit_now();
    CHECK_FALSE(fs::exists(media.path_for(sha)));
    CHECK(media.bytes_used("@b:hs") == 0);
  }
  fs::remove_all(dir);
}
