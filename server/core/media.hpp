// The content repository: media metadata in SQLite, files stored content-addressed under
// data_dir/media (identical uploads share one file), cached thumbnails.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/store/database.hpp"

namespace lotse::core {

struct MediaRecord {
  std::string media_id;
  std::string user_id;
  std::string content_type;
  std::string upload_name;
  std::int64_t size = 0;
  std::optional<std::string> sha256;  // empty while an asynchronous upload is pending
  std::int64_t created_ts = 0;
  std::optional<std::int64_t> expires_ts;
};

struct ThumbnailRecord {
  std::string content_type;
  std::string sha256;
  std::int64_t size;
};

class Media {
 public:
  Media(store::Database& db, std::string media_dir);

  const std::string& upload_dir() const { return upload_dir_; }
  static std::string new_media_id();  // 192 random bits, URL-safe
  std::string path_for(const std::string& sha256_hex) const;

  // Moves an uploaded temporary file into the store (or drops it if the content is already there)
  // and records it. `media_id` may name a pending asynchronous upload.
  void store(store::WriteUnit& unit, const std::string& media_id, const std::string& user_id,
             const std::string& content_type, const std::string& upload_name, const std::string& temp_path,
             std::int64_t size, const std::string& sha256_hex);
  void create_pending(store::WriteUnit& unit, const std::string& media_id, const std::string& user_id,
                      std::int64_t expires_ts);
  std::optional<MediaRecord> find(const std::string& media_id);
  std::int64_t bytes_used(const std::string& user_id);
  std::int64_t pending_uploads(const std::string& user_id, std::int64_t now_ms);

  std::optional<ThumbnailRecord> thumbnail(const std::string& media_id, int width, int height, const std::string& method);
  // Stores thumbnail bytes content-addressed and records them for (media, size, method).
  void store_thumbnail(store::WriteUnit& unit, const std::string& media_id, int width, int height,
                       const std::string& method, const std::string& content_type, const std::string& bytes);

  // Deletes the media (and its thumbnails); files no other record uses are removed after commit.
  void remove(store::WriteUnit& unit, const std::string& media_id);
  // Everything a user uploaded (account erasure).
  void remove_all_of_user(store::WriteUnit& unit, const std::string& user_id);

 private:
  bool file_referenced(const std::string& sha256_hex);
  void remove_file_after_commit(store::WriteUnit& unit, const std::string& sha256_hex);

  store::Database& db_;
  std::string media_dir_;
  std::string upload_dir_;
};

}  // namespace lotse::core
