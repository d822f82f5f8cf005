// libvips: decode (shrink-on-load), resize, encode JPEG (PNG for images that may be transparent).
#include "server/thumbnailer/vips_thumbnail.hpp"

#include <vips/vips.h>

#include <mutex>

namespace lotse::thumbnailer {

namespace {
void init_vips() {
  static std::once_flag once;
  std::call_once(once, [] {
    VIPS_INIT("lotse");
    vips_cache_set_max(0);   // no decoded-image cache: memory stays flat
    vips_concurrency_set(1);
  });
}
}  // namespace

std::optional<Thumbnail> make_thumbnail(const std::string& path, int width, int height, const std::string& method) {
  init_vips();
  VipsImage* out = nullptr;
  int rc = method == "crop"
               ? vips_thumbnail(path.c_str(), &out, width, "height", height, "size", VIPS_SIZE_DOWN, "crop",
                                VIPS_INTERESTING_CENTRE, nullptr)
               : vips_thumbnail(path.c_str(), &out, width, "height", height, "size", VIPS_SIZE_DOWN, nullptr);
  if (rc != 0) {
    vips_error_clear();
    return std::nullopt;
  }
  bool alpha = vips_image_hasalpha(out);
  void* buf = nullptr;
  size_t len = 0;
  rc = alpha ? vips_pngsave_buffer(out, &buf, &len, nullptr) : vips_jpegsave_buffer(out, &buf, &len, "Q", 80, nullptr);
  Thumbnail t{{}, alpha ? "image/png" : "image/jpeg", vips_image_get_width(out), vips_image_get_height(out)};
  g_object_unref(out);
  if (rc != 0) {
    vips_error_clear();
    return std::nullopt;
  }
  t.bytes.assign(static_cast<const char*>(buf), len);
  g_free(buf);
  return t;
}

}  // namespace lotse::thumbnailer
