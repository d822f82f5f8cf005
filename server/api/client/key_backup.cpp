// Server-side key backup (client-server API "Server-side key backups"): versions and keys at the
// three granularities, with etag and count.
#include "server/api/common.hpp"
#include "server/core/stored_json.hpp"

namespace lotse::api {
namespace {

using boost::json::object;

std::int64_t parse_version(const std::string& v) {
  if (v.empty() || v.size() > 18 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
    throw http::not_found("Unknown backup version.");
  return std::stoll(v);
}

object version_json(Homeserver& hs, const std::string& user, const core::BackupVersion& v) {
  return {{"algorithm", v.algorithm},
          {"auth_data", core::read_stored_json(v.auth_data, "backup auth_data", user).value_or(object{})},
          {"count", hs.key_backup.count(user, v.version)},
          {"etag", std::to_string(v.etag)},
          {"version", std::to_string(v.version)}};
}

void check_auth_data(const object& body) {
  req_string(body, "algorithm");
  req_object(body, "auth_data");
}

// The version named by ?version=, which must be the current one for writes.
core::BackupVersion require_version(Homeserver& hs, const std::string& user, const Request& r, bool for_write) {
  auto v = r.query_param("version");
  if (!v) throw http::missing_param("missing 'version'");
  auto found = hs.key_backup.version(user, parse_version(*v));
  if (!found) throw http::not_found("Unknown backup version.");
  if (for_write) {
    auto latest = hs.key_backup.latest(user);
    if (!latest || latest->version != found->version)
      throw MatrixError(403, "M_WRONG_ROOM_KEYS_VERSION", "This is not the current backup version.",
                        {{"current_version", latest ? std::to_string(latest->version) : ""}});
  }
  return *found;
}

core::BackedUpKey parse_key(const std::string& room_id, const std::string& session_id, const boost::json::value& v) {
  if (!v.is_object()) throw http::bad_json("key backup data must be an object");
  const auto& o = v.get_object();
  auto integer = [&](const char* k) {
    auto* x = o.if_contains(k);
    if (!x || !x->is_int64() || x->get_int64() < 0) throw http::bad_json(std::string(k) + " must be a non-negative integer");
    return x->get_int64();
  };
  auto* verified = o.if_contains("is_verified");
  if (!verified || !verified->is_bool()) throw http::bad_json("is_verified must be a boolean");
  return core::BackedUpKey{room_id, session_id, integer("first_message_index"), integer("forwarded_count"),
                           verified->get_bool(), boost::json::serialize(req_object(o, "session_data"))};
}

// {count, etag} answered by every change of the stored keys.
object keys_summary(Homeserver& hs, const std::string& user, std::int64_t version) {
  auto now = hs.key_backup.version(user, version);
  return {{"count", hs.key_backup.count(user, version)}, {"etag", std::to_string(now ? now->etag : 0)}};
}

object key_json(const core::BackedUpKey& k) {
  return {{"first_message_index", k.first_message_index},
          {"forwarded_count", k.forwarded_count},
          {"is_verified", k.is_verified},
          {"session_data", core::read_stored_json(k.session_data, "backup session_data", "").value_or(object{})}};
}

awaitable<Response> put_keys(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto version = require_version(hs, auth.user_id, r, true);
  const auto& body = r.json_object();
  std::vector<core::BackedUpKey> keys;
  auto add_sessions = [&](const std::string& room_id, const object& room) {
    const auto& sessions = req_object(room, "sessions");
    for (const auto& s : sessions) keys.push_back(parse_key(room_id, std::string(s.key()), s.value()));
  };
  if (r.params.count("sessionId")) keys.push_back(parse_key(r.param("roomId"), r.param("sessionId"), body));
  else if (r.params.count("roomId")) add_sessions(r.param("roomId"), body);
  else
    for (const auto& room : req_object(body, "rooms")) {
      if (!room.value().is_object()) throw http::bad_json("rooms values must be objects");
      add_sessions(std::string(room.key()), room.value().get_object());
    }
  {
    store::WriteUnit unit(hs.db);
    bool changed = false;
    for (const auto& k : keys) changed = hs.key_backup.put_key(unit, auth.user_id, version.version, k) || changed;
    if (changed) hs.key_backup.bump_etag(unit, auth.user_id, version.version);
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json(keys_summary(hs, auth.user_id, version.version));
}

awaitable<Response> get_keys(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto version = require_version(hs, auth.user_id, r, false);
  std::optional<std::string> room, session;
  if (r.params.count("roomId")) room = r.param("roomId");
  if (r.params.count("sessionId")) session = r.param("sessionId");
  auto keys = hs.key_backup.keys(auth.user_id, version.version, room, session);
  if (session) {
    if (keys.empty()) throw http::not_found("No backed-up key for this session.");
    co_return Response::json(key_json(keys.front()));
  }
  object rooms;
  for (const auto& k : keys) {
    auto& r_ = rooms[k.room_id];
    if (!r_.is_object()) r_ = object{{"sessions", object{}}};
    r_.as_object()["sessions"].as_object()[k.session_id] = key_json(k);
  }
  if (room) {
    auto* one = rooms.if_contains(*room);
    co_return Response::json(one ? *one : boost::json::value(object{{"sessions", object{}}}));
  }
  co_return Response::json({{"rooms", std::move(rooms)}});
}

awaitable<Response> delete_keys(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto version = require_version(hs, auth.user_id, r, false);
  std::optional<std::string> room, session;
  if (r.params.count("roomId")) room = r.param("roomId");
  if (r.params.count("sessionId")) session = r.param("sessionId");
  {
    store::WriteUnit unit(hs.db);
    hs.key_backup.delete_keys(unit, auth.user_id, version.version, room, session);
    hs.key_backup.bump_etag(unit, auth.user_id, version.version);
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json(keys_summary(hs, auth.user_id, version.version));
}

}  // namespace

void register_key_backup_routes(http::Router& router, Homeserver& hs) {
  client_route(router, verb::post, "/room_keys/version", [&hs](Request& r) -> awaitable<Response> {
    auto auth = require_auth(hs, r);
    const auto& body = r.json_object();
    check_auth_data(body);
    std::int64_t v;
    {
      store::WriteUnit unit(hs.db);
      v = hs.key_backup.create_version(unit, auth.user_id, req_string(body, "algorithm"),
                                       boost::json::serialize(req_object(body, "auth_data")));
      unit.release();
    }
    co_await hs.db.commit();
    co_return Response::json({{"version", std::to_string(v)}});
  });
  client_route(router, verb::get, "/room_keys/version", [&hs](Request& r) -> awaitable<Response> {
    auto auth = require_auth(hs, r);
    auto latest = hs.key_backup.latest(auth.user_id);
    if (!latest) throw http::not_found("No current backup version.");
    co_return Response::json(version_json(hs, auth.user_id, *latest));
  });
  client_route(router, verb::get, "/room_keys/version/{version}", [&hs](Request& r) -> awaitable<Response> {
    auto auth = require_auth(hs, r);
    auto v = hs.key_backup.version(auth.user_id, parse_version(r.param("version")));
    if (!v) throw http::not_found("Unknown backup version.");
    co_return Response::json(version_json(hs, auth.user_id, *v));
  });
  client_route(router, verb::put, "/room_keys/version/{version}", [&hs](Request& r) -> awaitable<Response> {
    auto auth = require_auth(hs, r);
    auto v = hs.key_backup.version(auth.user_id, parse_version(r.param("version")));
    if (!v) throw http::not_found("Unknown backup version.");
    const auto& body = r.json_object();
    check_auth_data(body);
    if (auto named = opt_string(body, "version"); named && *named != r.param("version"))
      throw http::invalid_param("version in the body does not match the path");
    if (req_string(body, "algorithm") != v->algorithm) throw http::invalid_param("the algorithm of a backup cannot change");
    {
      store::WriteUnit unit(hs.db);
      hs.key_backup.update_version(unit, auth.user_id, v->version, boost::json::serialize(req_object(body, "auth_data")));
      unit.release();
    }
    co_await hs.db.commit();
    co_return empty_ok();
  });
  client_route(router, verb::delete_, "/room_keys/version/{version}", [&hs](Request& r) -> awaitable<Response> {
    auto auth = require_auth(hs, r);
    auto v = hs.key_backup.version(auth.user_id, parse_version(r.param("version")));
    if (!v) throw http::not_found("Unknown backup version.");
    {
      store::WriteUnit unit(hs.db);
      hs.key_backup.delete_version(unit, auth.user_id, v->version);
      unit.release();
    }
    co_await hs.db.commit();
    co_return empty_ok();
  });
  for (auto* path : {"/room_keys/keys", "/room_keys/keys/{roomId}", "/room_keys/keys/{roomId}/{sessionId}"}) {
    client_route(router, verb::put, path, [&hs](Request& r) { return put_keys(hs, r); });
    client_route(router, verb::get, path, [&hs](Request& r) { return get_keys(hs, r); });
    client_route(router, verb::delete_, path, [&hs](Request& r) { return delete_keys(hs, r); });
  }
}

}  // namespace lotse::api
