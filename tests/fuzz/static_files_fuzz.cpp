// The web app's file allow-list (server/http/static_files.hpp): whatever the request path, the answer
// is nothing or an entry of the list, reached only through the path it is listed under; a path
// allowed as a client-side route is plain (no dots, escapes or doubled slashes).
#include <set>

#include "fuzz_check.hpp"
#include "server/http/static_files.hpp"

using lotse::http::StaticFiles;

namespace {
const StaticFiles& files() {
  static const StaticFiles list = [] {
    std::map<std::string, StaticFiles::Entry> m;
    std::uint64_t n = 0;
    for (const char* p : {"/index.html", "/manifest.webmanifest", "/sw.js", "/favicon.ico", "/assets/index-4f3a.js",
                          "/assets/index-4f3a.js.gz", "/assets/style-9c1d.css", "/icons/icon-192.png", "/locales/de.json"})
      m[p] = StaticFiles::Entry{std::string("/srv/dist") + p, ++n};
    return StaticFiles::from_list(std::move(m));
  }();
  return list;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  const auto& list = files();
  if (auto e = list.find(raw)) {
    auto decoded = StaticFiles::percent_decode_path(raw);
    auto it = list.files().find(decoded);
    FUZZ_CHECK(it != list.files().end(), "a file outside the allow-list was served");
    FUZZ_CHECK(it->second.path == e->path && it->second.size == e->size, "another entry than the listed one");
    FUZZ_CHECK(e->path == "/srv/dist" + decoded, "the served file is not the listed URL path's file");
    FUZZ_CHECK(decoded.find("..") == std::string::npos && decoded.find('\0') == std::string::npos, "a .. or NUL path");
  }
  if (StaticFiles::is_app_route(raw)) {
    FUZZ_CHECK(!raw.empty() && raw[0] == '/', "an app route not starting with /");
    FUZZ_CHECK(raw.find_first_of(".%\\?#") == std::string_view::npos, "an app route with dots or escapes");
    FUZZ_CHECK(raw.find("//") == std::string_view::npos, "an app route with an empty segment");
  }
  return 0;
}
