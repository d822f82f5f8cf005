// The web app's allow-list of files (see static_files.hpp).
#include "server/http/static_files.hpp"

#include <filesystem>

#include "server/http/request.hpp"

namespace lotse::http {

namespace fs = std::filesystem;

StaticFiles StaticFiles::scan(const std::string& dir) {
  StaticFiles out;
  std::error_code ec;
  fs::path root = fs::weakly_canonical(dir, ec);
  if (ec || !fs::is_directory(root, ec)) return out;
  // Not following directory symlinks: the list holds what the build wrote into the directory itself.
  for (fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end; !ec && it != end;
       it.increment(ec)) {
    auto status = it->symlink_status(ec);
    if (ec) break;
    std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') {
      if (fs::is_directory(status)) it.disable_recursion_pending();
      continue;
    }
    if (!fs::is_regular_file(status)) continue;
    std::string rel = it->path().lexically_relative(root).generic_string();
    // URL paths are "/"-separated; names with characters a URL would have to encode are left out.
    bool plain = !rel.empty();
    for (unsigned char c : rel)
      if (c < 0x21 || c > 0x7e || c == '\\' || c == '%' || c == '?' || c == '#') plain = false;
    if (!plain) continue;
    out.files_["/" + rel] = Entry{it->path().string(), static_cast<std::uint64_t>(it->file_size(ec))};
    if (ec) out.files_.erase("/" + rel);
  }
  return out;
}

std::string StaticFiles::percent_decode_path(std::string_view raw_path) {
  std::string path = percent_decode(raw_path);
  return path == "/" ? "/index.html" : path;
}

std::optional<StaticFiles::Entry> StaticFiles::find_decoded(const std::string& path) const {
  auto it = files_.find(path);
  if (it == files_.end()) return std::nullopt;
  return it->second;
}

bool StaticFiles::is_app_route(std::string_view raw_path) {
  if (raw_path.empty() || raw_path[0] != '/' || raw_path.size() > 256) return false;
  char prev = 0;
  for (char c : raw_path) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '/';
    if (!ok || (c == '/' && prev == '/')) return false;
    prev = c;
  }
  return true;
}

}  // namespace lotse::http
