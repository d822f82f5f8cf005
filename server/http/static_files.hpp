// The files a web app may serve: an allow-list made once, at start-up, from the build's output
// directory. A request path is looked up in it as a string, so no request can name a file outside
// the list (absolute paths, "..", encoded slashes, backslashes, NUL and symlinks all miss).
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace lotse::http {

class StaticFiles {
 public:
  struct Entry {
    std::string path;       // absolute file path on disk
    std::uint64_t size = 0;
  };

  StaticFiles() = default;
  // Lists the regular files under `dir` (recursively; symlinks, hidden files and anything that is
  // not a regular file are left out). A missing directory gives an empty list.
  static StaticFiles scan(const std::string& dir);
  // For tests and fuzzing: a list of URL paths ("/index.html") with made-up disk paths.
  static StaticFiles from_list(std::map<std::string, Entry> files) { StaticFiles s; s.files_ = std::move(files); return s; }

  // The entry for a raw (percent-encoded) request path, or nullopt. "/" is "/index.html".
  std::optional<Entry> find(std::string_view raw_path) const { return find_decoded(percent_decode_path(raw_path)); }
  // The entry for an already decoded URL path.
  std::optional<Entry> find_decoded(const std::string& path) const;
  static std::string percent_decode_path(std::string_view raw_path);
  // Whether a path that names no file may be answered with the app (client-side routes): only
  // plain paths made of letters, digits, '-', '_' and single '/' separators, with no extension.
  static bool is_app_route(std::string_view raw_path);

  bool empty() const { return files_.empty(); }
  std::size_t size() const { return files_.size(); }
  const std::map<std::string, Entry>& files() const { return files_; }

 private:
  std::map<std::string, Entry> files_;  // URL path -> file
};

}  // namespace lotse::http
