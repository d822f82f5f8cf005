// Media storage.
#include "server/core/media.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "e2ee/crypto.hpp"
#include "server/core/errors.hpp"

namespace lotse::core {
namespace {
std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

MediaRecord read_record(const store::Statement& st) {
  MediaRecord m;
  m.media_id = st.text(0);
  m.user_id = st.text(1);
  m.content_type = st.opt_text(2).value_or("application/octet-stream");
  m.upload_name = st.opt_text(3).value_or("");
  m.size = st.int64(4);
  m.sha256 = st.opt_text(5);
  m.created_ts = st.int64(6);
  if (!st.is_null(7)) m.expires_ts = st.int64(7);
  return m;
}
}  // namespace

Media::Media(store::Database& db, std::string media_dir)
    : db_(db), media_dir_(std::move(media_dir)), upload_dir_(media_dir_ + "/tmp") {
  std::filesystem::create_directories(upload_dir_);
  // Leftovers of uploads interrupted by a crash.
  for (const auto& entry : std::filesystem::directory_iterator(upload_dir_)) std::filesystem::remove(entry.path());
}

std::string Media::new_media_id() { return e2ee::random_token(24); }

std::string Media::path_for(const std::string& sha) const {
  return media_dir_ + "/" + sha.substr(0, 2) + "/" + sha.substr(2, 2) + "/" + sha;
}

void Media::store(store::WriteUnit&, const std::string& media_id, const std::string& user_id,
                  const std::string& content_type, const std::string& upload_name, const std::string& temp_path,
                  std::int64_t size, const std::string& sha256_hex) {
  auto final_path = path_for(sha256_hex);
  if (std::filesystem::exists(final_path)) {
    std::filesystem::remove(temp_path);
  } else {
    std::filesystem::create_directories(std::filesystem::path(final_path).parent_path());
    // Durable before it is acknowledged, like events.
    if (FILE* f = std::fopen(temp_path.c_str(), "rb")) {
      ::fsync(fileno(f));
      std::fclose(f);
    }
    std::filesystem::rename(temp_path, final_path);
  }
  auto st = db_.conn().prepare(
      "INSERT INTO media (media_id, user_id, content_type, upload_name, size, sha256, created_ts, expires_ts) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL) ON CONFLICT (media_id) DO UPDATE SET content_type = ?3, "
      "upload_name = ?4, size = ?5, sha256 = ?6, expires_ts = NULL");
  st.bind_all(media_id, user_id, content_type, upload_name, size, sha256_hex, now_ms());
  st.run();
}

void Media::create_pending(store::WriteUnit&, const std::string& media_id, const std::string& user_id,
                           std::int64_t expires_ts) {
  auto st = db_.conn().prepare(
      "INSERT INTO media (media_id, user_id, size, created_ts, expires_ts) VALUES (?, ?, 0, ?, ?)");
  st.bind_all(media_id, user_id, now_ms(), expires_ts);
  st.run();
}

std::optional<MediaRecord> Media::find(const std::string& media_id) {
  auto st = db_.conn().prepare(
      "SELECT media_id, user_id, content_type, upload_name, size, sha256, created_ts, expires_ts FROM media "
      "WHERE media_id = ?");
  st.bind_all(media_id);
  if (!st.step()) return std::nullopt;
  return read_record(st);
}

std::int64_t Media::bytes_used(const std::string& user_id) {
  auto st = db_.conn().prepare("SELECT coalesce(sum(size), 0) FROM media WHERE user_id = ?");
  st.bind_all(user_id);
  return st.step() ? st.int64(0) : 0;
}

std::int64_t Media::pending_uploads(const std::string& user_id, std::int64_t now) {
  auto st = db_.conn().prepare("SELECT count(*) FROM media WHERE user_id = ? AND sha256 IS NULL AND expires_ts > ?");
  st.bind_all(user_id, now);
  return st.step() ? st.int64(0) : 0;
}

std::optional<ThumbnailRecord> Media::thumbnail(const std::string& media_id, int width, int height,
                                                const std::string& method) {
  auto st = db_.conn().prepare(
      "SELECT content_type, sha256, size FROM media_thumbnails WHERE media_id = ? AND width = ? AND height = ? "
      "AND method = ?");
  st.bind_all(media_id, width, height, method);
  if (!st.step()) return std::nullopt;
  return ThumbnailRecord{st.text(0), st.text(1), st.int64(2)};
}

void Media::store_thumbnail(store::WriteUnit&, const std::string& media_id, int width, int height,
                            const std::string& method, const std::string& content_type, const std::string& bytes) {
  e2ee::Sha256 h;
  h.update(bytes);
  auto sha = h.hex_digest();
  auto path = path_for(sha);
  if (!std::filesystem::exists(path)) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::string tmp = upload_dir_ + "/thumb-" + sha;
    {
      std::ofstream out(tmp, std::ios::binary);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      if (!out) throw std::runtime_error("cannot write thumbnail " + tmp);
    }
    std::filesystem::rename(tmp, path);
  }
  auto st = db_.conn().prepare(
      "INSERT OR REPLACE INTO media_thumbnails (media_id, width, height, method, content_type, sha256, size) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)");
  st.bind_all(media_id, width, height, method, content_type, sha, static_cast<std::int64_t>(bytes.size()));
  st.run();
}

bool Media::file_referenced(const std::string& sha) {
  auto st = db_.conn().prepare(
      "SELECT EXISTS (SELECT 1 FROM media WHERE sha256 = ?1) OR EXISTS (SELECT 1 FROM media_thumbnails WHERE sha256 = ?1)");
  st.bind_all(sha);
  return st.step() && st.int64(0) != 0;
}

void Media::remove_file_after_commit(store::WriteUnit& unit, const std::string& sha) {
  unit.after_commit([this, sha] {
    // Checked again after commit: a new upload of the same content may have arrived meanwhile.
    if (!file_referenced(sha)) std::filesystem::remove(path_for(sha));
  });
}

void Media::remove(store::WriteUnit& unit, const std::string& media_id) {
  std::vector<std::string> files;
  if (auto m = find(media_id); m && m->sha256) files.push_back(*m->sha256);
  {
    auto st = db_.conn().prepare("SELECT sha256 FROM media_thumbnails WHERE media_id = ?");
    st.bind_all(media_id);
    while (st.step()) files.push_back(st.text(0));
  }
  for (auto* sql : {"DELETE FROM media_thumbnails WHERE media_id = ?", "DELETE FROM media WHERE media_id = ?"}) {
    auto st = db_.conn().prepare(sql);
    st.bind_all(media_id);
    st.run();
  }
  for (const auto& f : files) remove_file_after_commit(unit, f);
}

void Media::remove_all_of_user(store::WriteUnit& unit, const std::string& user_id) {
  std::vector<std::string> ids;
  {
    auto st = db_.conn().prepare("SELECT media_id FROM media WHERE user_id = ?");
    st.bind_all(user_id);
    while (st.step()) ids.push_back(st.text(0));
  }
  for (const auto& id : ids) remove(unit, id);
}

}  // namespace lotse::core
