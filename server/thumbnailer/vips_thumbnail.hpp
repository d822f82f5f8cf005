// Thumbnails with libvips (client-server API "Thumbnails": scale and crop).
#pragma once
#include <optional>
#include <string>

namespace lotse::thumbnailer {

struct Thumbnail {
  std::string bytes;
  std::string content_type;
  int width;
  int height;
};

// "scale" fits the image inside width x height keeping its aspect ratio; "crop" fills exactly
// width x height, cropping the centre. Never enlarges. nullopt when the file is not a readable image.
std::optional<Thumbnail> make_thumbnail(const std::string& path, int width, int height, const std::string& method);

}  // namespace lotse::thumbnailer
