// Thumbnails for the content repository, made by the lotse-thumbnailer child process (libvips).
#pragma once
#include <optional>
#include <string>

namespace lotse::core {

// Content types thumbnails are made of (still images only).
bool thumbnailable(const std::string& content_type);

struct Thumbnail {
  std::string bytes;
  std::string content_type;
};

// Runs lotse-thumbnailer (next to the lotse binary) on `path`; blocking, so call it off the network
// thread. nullopt when the image cannot be read or the helper fails or takes over 30 seconds.
std::optional<Thumbnail> make_thumbnail(const std::string& path, const std::string& work_dir, int width, int height,
                                        const std::string& method);

}  // namespace lotse::core
