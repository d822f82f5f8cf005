// The content repository (client-server API "Content repository"): uploads (direct and
// asynchronous), authenticated downloads with Range, thumbnails, config. Legacy /_matrix/media
// downloads answer the same but also require an access token (see README: media access).
#include <chrono>

#include "server/api/common.hpp"
#include "server/http/range.hpp"
#include "server/core/thumbnails.hpp"

namespace lotse::api {
namespace {

using boost::json::object;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string mxc(Homeserver& hs, const std::string& id) { return "mxc://" + hs.config.server_name + "/" + id; }

// Content types a browser may show inline (spec v1.12, Content-Disposition guidance); anything else
// is an attachment so it cannot run in the homeserver's origin.
bool inline_safe(const std::string& type) {
  static const char* kSafe[] = {"text/css", "text/plain", "text/csv", "application/json", "application/ld+json",
                                "image/jpeg", "image/gif", "image/png", "image/apng", "image/webp", "image/avif",
                                "video/mp4", "video/webm", "video/ogg", "video/quicktime", "audio/mp4", "audio/webm",
                                "audio/aac", "audio/mpeg", "audio/ogg", "audio/wave", "audio/wav", "audio/x-wav",
                                "audio/x-pn-wav", "audio/flac", "audio/x-flac"};
  std::string base = type.substr(0, type.find(';'));
  for (auto* s : kSafe)
    if (base == s) return true;
  return false;
}

std::string disposition(const std::string& type, const std::string& name) {
  std::string d = inline_safe(type) ? "inline" : "attachment";
  if (name.empty()) return d;
  // RFC 6266 / 5987: filename*=UTF-8''percent-encoded
  std::string enc;
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') enc += static_cast<char>(c);
    else {
      enc += '%';
      enc += hex[c >> 4];
      enc += hex[c & 15];
    }
  }
  return d + "; filename*=UTF-8''" + enc;
}

void media_headers(Response& r, const std::string& type) {
  r.content_type = type;
  r.headers.emplace_back("Content-Security-Policy", "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; media-src 'self'; object-src 'self';");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Cross-Origin-Resource-Policy", "cross-origin");
  r.headers.emplace_back("Cache-Control", "private, max-age=86400, immutable");
  r.headers.emplace_back("Accept-Ranges", "bytes");
}

void check_server_name(Homeserver& hs, const Request& r) {
  if (r.param("serverName") != hs.config.server_name)
    throw http::not_found("This server does not federate: only media of " + hs.config.server_name + " exists here.");
}

std::string content_type_of(const Request& r) {
  auto t = r.header("content-type").value_or("application/octet-stream");
  if (t.empty() || t.size() > 255) t = "application/octet-stream";
  return t;
}

// Quota, rate limit and storage of a streamed upload under `media_id`.
awaitable<void> store_upload(Homeserver& hs, Request& r, const std::string& user_id, const std::string& media_id) {
  if (!r.upload) throw MatrixError(400, "M_UNKNOWN", "No upload body.");
  // An administrator's uploads are the old system's files that lotse-bridge imports: neither the
  // rate limit nor the per-user quota (meant for seekers and counselors) applies to them.
  bool admin = hs.accounts.role(user_id) == "admin";
  if (!admin) check_rate(hs, hs.media_limiter, user_id);
  auto used = hs.media.bytes_used(user_id);
  if (!admin && static_cast<std::uint64_t>(used) + r.upload->size > hs.config.media.user_quota)
    throw MatrixError(403, "M_RESOURCE_LIMIT_EXCEEDED",
                      "Your storage quota is used up; delete old files or ask the administrators.",
                      {{"admin_contact", "mailto:admin@" + hs.config.server_name}});
  auto name = r.query_param("filename").value_or("");
  if (name.size() > 255) throw http::invalid_param("filename is too long");
  {
    store::WriteUnit unit(hs.db);
    hs.media.store(unit, media_id, user_id, content_type_of(r), name, r.upload->path,
                   static_cast<std::int64_t>(r.upload->size), r.upload->sha256_hex);
    unit.release();
  }
  co_await hs.db.commit();
}

awaitable<Response> post_upload(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto id = core::Media::new_media_id();
  co_await store_upload(hs, r, auth.user_id, id);
  co_return Response::json({{"content_uri", mxc(hs, id)}});
}

awaitable<Response> post_create(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  check_rate(hs, hs.media_limiter, auth.user_id);
  if (hs.media.pending_uploads(auth.user_id, now_ms()) >= 10)
    throw MatrixError(429, "M_LIMIT_EXCEEDED", "Too many pending uploads.", {{"retry_after_ms", 60000}});
  auto id = core::Media::new_media_id();
  std::int64_t expires = now_ms() + 24 * 3600 * 1000;
  {
    store::WriteUnit unit(hs.db);
    hs.media.create_pending(unit, id, auth.user_id, expires);
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json({{"content_uri", mxc(hs, id)}, {"unused_expires_at", expires}});
}

awaitable<Response> put_upload(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  check_server_name(hs, r);
  auto m = hs.media.find(r.param("mediaId"));
  if (!m) throw http::not_found("Unknown media.");
  if (m->user_id != auth.user_id) throw http::forbidden("This media ID belongs to someone else.");
  if (m->sha256) throw MatrixError(409, "M_CANNOT_OVERWRITE_MEDIA", "This media has already been uploaded.");
  if (m->expires_ts && *m->expires_ts < now_ms()) throw http::not_found("The media ID has expired.");
  co_await store_upload(hs, r, auth.user_id, m->media_id);
  co_return empty_ok();
}

core::MediaRecord uploaded_media(Homeserver& hs, const Request& r) {
  check_server_name(hs, r);
  auto m = hs.media.find(r.param("mediaId"));
  if (!m) throw http::not_found("Media not found.");
  if (!m->sha256) throw MatrixError(504, "M_NOT_YET_UPLOADED", "The media has not been uploaded yet.");
  return *m;
}

awaitable<Response> get_download(Homeserver& hs, Request& r) {
  require_auth(hs, r);
  auto m = uploaded_media(hs, r);
  std::string name = r.params.count("fileName") ? r.param("fileName") : m.upload_name;
  Response res;
  media_headers(res, m.content_type);
  res.headers.emplace_back("Content-Disposition", disposition(m.content_type, name));
  auto size = static_cast<std::uint64_t>(m.size);
  res.file = http::FileRegion{hs.media.path_for(*m.sha256), 0, size};
  if (auto range = r.header("range")) {
    auto span = http::parse_range(*range, size);
    if (span.kind == http::RangeDecision::Kind::partial) {
      res.status = 206;
      res.file->offset = span.first;
      res.file->length = span.last - span.first + 1;
      res.headers.emplace_back("Content-Range", "bytes " + std::to_string(span.first) + "-" +
                                                    std::to_string(span.last) + "/" + std::to_string(size));
    } else if (span.kind == http::RangeDecision::Kind::unsatisfiable) {
      Response bad = Response::error(MatrixError(416, "M_UNKNOWN", "The requested range is not satisfiable."));
      bad.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
      co_return bad;
    }
  }
  co_return res;
}

awaitable<Response> get_thumbnail(Homeserver& hs, Request& r) {
  require_auth(hs, r);
  auto m = uploaded_media(hs, r);
  auto number = [&](const char* name) {
    if (!r.query_param(name)) throw http::missing_param(std::string("missing '") + name + "'");
    return static_cast<int>(int_param(r, name, 0, 1, 1600));
  };
  int width = number("width"), height = number("height");
  std::string method = r.query_param("method").value_or("scale");
  if (method != "scale" && method != "crop") throw http::invalid_param("method must be scale or crop");
  if (!core::thumbnailable(m.content_type))
    throw MatrixError(400, "M_UNKNOWN", "No thumbnail can be made of " + m.content_type + ".");
  auto cached = hs.media.thumbnail(m.media_id, width, height, method);
  if (!cached) {
    auto src = hs.media.path_for(*m.sha256);
    auto work_dir = hs.media.upload_dir();
    auto task = [src, work_dir, width, height, method] { return core::make_thumbnail(src, work_dir, width, height, method); };
    auto thumb = co_await hs.run_blocking(task);
    if (!thumb) throw MatrixError(400, "M_UNKNOWN", "The file is not a readable image.");
    {
      store::WriteUnit unit(hs.db);
      hs.media.store_thumbnail(unit, m.media_id, width, height, method, thumb->content_type, thumb->bytes);
      unit.release();
    }
    co_await hs.db.commit();
    cached = hs.media.thumbnail(m.media_id, width, height, method);
  }
  Response res;
  media_headers(res, cached->content_type);
  res.headers.emplace_back("Content-Disposition", "inline");
  res.file = http::FileRegion{hs.media.path_for(cached->sha256), 0, static_cast<std::uint64_t>(cached->size)};
  co_return res;
}

}  // namespace

void register_media_routes(http::Router& router, Homeserver& hs) {
  auto upload = [&hs](Request& r) { return post_upload(hs, r); };
  auto config = [&hs](Request& r) -> awaitable<Response> {
    require_auth(hs, r);
    co_return Response::json({{"m.upload.size", hs.config.media.max_upload_size}});
  };
  for (auto* v : {"v3", "r0"}) {
    std::string base = std::string("/_matrix/media/") + v;
    raw_route(router, verb::post, base + "/upload", upload, true);
    raw_route(router, verb::get, base + "/config", config);
    // Legacy downloads: same answers, still only with an access token (no unauthenticated media).
    raw_route(router, verb::get, base + "/download/{serverName}/{mediaId}", [&hs](Request& r) { return get_download(hs, r); });
    raw_route(router, verb::get, base + "/download/{serverName}/{mediaId}/{fileName}",
              [&hs](Request& r) { return get_download(hs, r); });
    raw_route(router, verb::get, base + "/thumbnail/{serverName}/{mediaId}", [&hs](Request& r) { return get_thumbnail(hs, r); });
  }
  raw_route(router, verb::put, "/_matrix/media/v3/upload/{serverName}/{mediaId}", [&hs](Request& r) { return put_upload(hs, r); },
            true);
  raw_route(router, verb::post, "/_matrix/media/v1/create", [&hs](Request& r) { return post_create(hs, r); });
  std::string v1 = "/_matrix/client/v1/media";
  raw_route(router, verb::get, v1 + "/config", config);
  raw_route(router, verb::get, v1 + "/download/{serverName}/{mediaId}", [&hs](Request& r) { return get_download(hs, r); });
  raw_route(router, verb::get, v1 + "/download/{serverName}/{mediaId}/{fileName}", [&hs](Request& r) { return get_download(hs, r); });
  raw_route(router, verb::get, v1 + "/thumbnail/{serverName}/{mediaId}", [&hs](Request& r) { return get_thumbnail(hs, r); });
}

}  // namespace lotse::api
