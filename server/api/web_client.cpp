// Serves the seekers' PWA (web-client/dist) at "/" and its branding at /_lotse/client/v1/branding.
// Hashed assets are cached for a year; index.html, the service worker and the manifest are
// revalidated so an update reaches phones on the next visit.
#include <filesystem>

#include "server/api/common.hpp"

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

awaitable<Response> serve_static(Homeserver& hs, Request& r) {
  if (hs.config.web_client.dir.empty()) throw MatrixError(404, "M_NOT_FOUND", "No web app is configured.");
  fs::path root = fs::weakly_canonical(hs.config.web_client.dir);
  std::string rel = http::percent_decode(r.path);
  if (rel.find("..") != std::string::npos || rel.find('\0') != std::string::npos)
    throw MatrixError(404, "M_NOT_FOUND", "Not found.");
  fs::path file = rel == "/" ? root / "index.html" : root / rel.substr(1);
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    // Client-side routes (no file extension) get the app; missing files a 404.
    if (fs::path(rel).has_extension()) throw MatrixError(404, "M_NOT_FOUND", "Not found.");
    file = root / "index.html";
    if (!fs::is_regular_file(file, ec)) throw MatrixError(404, "M_NOT_FOUND", "The web app is not built (scripts/run builds it).");
  }
  Response res;
  res.content_type = mime_type(file.extension().string());
  // Precompressed twin written at build time (web-client/compress.mjs).
  res.headers.emplace_back("Vary", "Accept-Encoding");
  if (r.header("accept-encoding").value_or("").find("gzip") != std::string::npos) {
    fs::path gz = file.string() + ".gz";
    if (fs::is_regular_file(gz, ec)) {
      file = gz;
      res.headers.emplace_back("Content-Encoding", "gzip");
    }
  }
  bool hashed = rel.rfind("/assets/", 0) == 0;
  res.headers.emplace_back("Cache-Control", hashed ? "public, max-age=31536000, immutable" : "no-cache");
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  res.headers.emplace_back("Referrer-Policy", "no-referrer");
  res.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; worker-src 'self'; "
                           "frame-ancestors 'none'");
  res.file = http::FileRegion{file.string(), 0, static_cast<std::uint64_t>(fs::file_size(file))};
  co_return res;
}

}  // namespace

void register_web_client_routes(http::Router& router, Homeserver& hs) {
  router.set_fallback([&hs](Request& r) { return serve_static(hs, r); });
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
