// Thumbnails of images with libvips (client-server API "Thumbnails": scale and crop).
#pragma once
#include <optional>
#include <string>

namespace lotse::core {

// Content types libvips thumbnails here (still images only).
bool thumbnailable(const std::string& content_type);

struct Thumbnail {
  std::string bytes;
  std::string content_type;
  int width;
  int height;
};

// Blocking (tens of milliseconds): run it off the network thread. "scale" fits the image inside
// width x height keeping its aspect ratio; "crop" fills exactly width x height, cropping the centre.
// Never enlarges. nullopt when the file is not a readable image.
std::optional<Thumbnail> make_thumbnail(const std::string& path, int width, int height, const std::string& method);

}  // namespace lotse::core
