// Serves the seekers' PWA (web-client/dist) at "/" and its branding at /_lotse/client/v1/branding.
// Hashed assets are cached for a year; index.html, the service worker and the manifest are
// revalidated so an update reaches phones on the next visit.
#include <filesystem>

#include "server/api/common.hpp"
#include "server/log.hpp"
#include "server/http/static_files.hpp"

namespace lotse::api {
namespace {

namespace fs = std::filesystem;

std::string mime_type(const std::string& ext) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"}, {".webmanifest", "application/manifest+json"},
      {".wasm", "application/wasm"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
      {".ico", "image/x-icon"}, {".txt", "text/plain; charset=utf-8"}, {".woff2", "font/woff2"}};
  for (auto [e, t] : kTypes)
    if (ext == e) return t;
  return "application/octet-stream";
}

awaitable<Response> serve_static(const http::StaticFiles& files, Request& r) {
  // Only files of the allow-list made at start-up are served; anything else is a 404 (or the app
  // itself for a plain client-side route such as /chat).
  std::string url_path = http::StaticFiles::percent_decode_path(r.path);
  auto file = files.find_decoded(url_path);
  if (!file) {
    url_path = "/index.html";
    if (!http::StaticFiles::is_app_route(r.path) || !(file = files.find(url_path)))
      throw MatrixError(404, "M_NOT_FOUND", files.empty() ? "The web app is not built (scripts/run builds it)." : "Not found.");
  }
  Response res;
  res.content_type = mime_type(fs::path(url_path).extension().string());
  // Precompressed twin written at build time (web-client/compress.mjs).
  res.headers.emplace_back("Vary", "Accept-Encoding");
  if (r.header("accept-encoding").value_or("").find("gzip") != std::string::npos) {
    if (auto gz = files.find_decoded(url_path + ".gz")) {
      file = gz;
      res.headers.emplace_back("Content-Encoding", "gzip");
    }
  }
  bool hashed = url_path.rfind("/assets/", 0) == 0;
  res.headers.emplace_back("Cache-Control", hashed ? "public, max-age=31536000, immutable" : "no-cache");
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  res.headers.emplace_back("Referrer-Policy", "no-referrer");
  res.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; worker-src 'self'; "
                           "frame-ancestors 'none'");
  std::error_code ec;
  auto size = fs::file_size(file->path, ec);  // the build may have rewritten it since start-up
  if (ec) throw MatrixError(404, "M_NOT_FOUND", "Not found.");
  res.file = http::FileRegion{file->path, 0, static_cast<std::uint64_t>(size)};
  co_return res;
}

}  // namespace

void register_web_client_routes(http::Router& router, Homeserver& hs) {
  auto files = std::make_shared<const http::StaticFiles>(
      hs.config.web_client.dir.empty() ? http::StaticFiles() : http::StaticFiles::scan(hs.config.web_client.dir));
  log_line("info", "web app files", {{"dir", hs.config.web_client.dir}, {"files", files->size()}});
  router.set_fallback([files](Request& r) { return serve_static(*files, r); });
  raw_route(router, verb::get, "/_lotse/client/v1/branding", [&hs](Request&) -> awaitable<Response> {
    boost::json::array langs;
    for (const auto& l : hs.config.branding.languages) langs.push_back(boost::json::value(l));
    co_return Response::json({{"name", hs.config.branding.name},
                              {"primary_color", hs.config.branding.primary_color},
                              {"logo_url", hs.config.branding.logo_url},
                              {"languages", std::move(langs)},
                              {"server_name", hs.config.server_name}});
  });
}

}  // namespace lotse::api
