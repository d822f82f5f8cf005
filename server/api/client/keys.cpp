// End-to-end encryption keys (client-server API "End-to-End Encryption" key management and
// cross-signing): upload, query, claim, changes, device_signing and signatures upload.
#include "e2ee/canonical_json.hpp"
#include "e2ee/crypto.hpp"
#include "e2ee/safe_json.hpp"
#include "server/api/client/uia.hpp"
#include "server/api/common.hpp"
#include "server/core/stored_json.hpp"

namespace lotse::api {
namespace {

using boost::json::object;

// The canonical form of a signed object without its signatures (what signatures cover).
std::string unsigned_form(const object& o) {
  object copy = o;
  copy.erase("signatures");
  copy.erase("unsigned");
  return e2ee::canonical_json(copy);
}

// Stored keys passed the body limits on upload; e2ee::parse_stored_object reads them back.
object parse_object(const std::string& text) { return e2ee::parse_stored_object(text); }

// The single ed25519 public key of a cross-signing key object, as (key id, public key).
std::pair<std::string, std::string> cross_signing_public_key(const object& key) {
  auto* keys = key.if_contains("keys");
  if (!keys || !keys->is_object() || keys->as_object().size() != 1)
    throw http::invalid_param("a cross-signing key must contain exactly one key");
  const auto& kv = *keys->as_object().begin();
  if (!kv.value().is_string() || kv.key().substr(0, 8) != "ed25519:")
    throw http::invalid_param("cross-signing keys must be ed25519 keys");
  return {std::string(kv.key()), std::string(kv.value().get_string())};
}

// Adds stored later signatures to a key object: the owner's own, and those `viewer` made. Another
// user's signature on someone's master key (made with their user-signing key) is visible only to
// its signer, as the spec's cross-signing section says; shown to everyone it would tell who
// verified whom (e.g. which seekers verified a counselor).
void merge_signatures(Homeserver& hs, object& key, const std::string& user_id, const std::string& target_key,
                      const std::string& viewer) {
  for (const auto& s : hs.keys.signatures_for(user_id, target_key)) {
    if (s.signer_user != user_id && s.signer_user != viewer) continue;
    auto& sigs = key["signatures"];
    if (!sigs.is_object()) sigs = object{};
    auto& by_user = sigs.as_object()[s.signer_user];
    if (!by_user.is_object()) by_user = object{};
    by_user.as_object()[s.signer_key] = s.signature;
  }
}

// Checks a one-time or fallback key object's signature by the device's ed25519 key.
void verify_key_object(const boost::json::value& v, const std::string& user_id, const std::string& device_id,
                       const std::optional<std::string>& device_ed25519, const std::string& what) {
  if (v.is_string()) return;  // legacy unsigned curve25519 key
  if (!v.is_object()) throw http::bad_json(what + " must be an object");
  const auto& o = v.get_object();
  auto* key = o.if_contains("key");
  if (!key || !key->is_string()) throw http::bad_json(what + " needs a key");
  if (!device_ed25519) throw http::invalid_param("Upload the device keys before signed one-time keys.");
  if (!e2ee::verify_json(o, user_id, "ed25519:" + device_id, *device_ed25519))
    throw http::invalid_param("Signature on " + what + " does not verify with the device's ed25519 key.");
}

std::optional<std::string> device_ed25519_key(const object& device_keys, const std::string& device_id) {
  auto* keys = device_keys.if_contains("keys");
  if (!keys || !keys->is_object()) return std::nullopt;
  auto* k = keys->as_object().if_contains("ed25519:" + device_id);
  if (!k || !k->is_string()) return std::nullopt;
  return std::string(k->get_string());
}

awaitable<Response> post_upload(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  const auto& body = r.json_object();
  std::optional<std::string> ed25519;
  if (auto stored = hs.keys.device_keys(auth.user_id, auth.device_id))
    ed25519 = device_ed25519_key(parse_object(*stored), auth.device_id);

  std::optional<object> device_keys;
  if (auto* dk = body.if_contains("device_keys"); dk && !dk->is_null()) {
    if (!dk->is_object()) throw http::bad_json("device_keys must be an object");
    device_keys = dk->get_object();
    if (opt_string(*device_keys, "user_id") != auth.user_id || opt_string(*device_keys, "device_id") != auth.device_id)
      throw http::invalid_param("device_keys must be for the device of this access token");
    auto* algs = device_keys->if_contains("algorithms");
    if (!algs || !algs->is_array() || algs->as_array().empty())
      throw http::bad_json("device_keys.algorithms must be a non-empty list");
    for (const auto& a : algs->as_array())
      if (!a.is_string()) throw http::bad_json("device_keys.algorithms must be strings");
    auto key = device_ed25519_key(*device_keys, auth.device_id);
    auto* keys = device_keys->if_contains("keys");
    if (!key || !keys->as_object().contains("curve25519:" + auth.device_id))
      throw http::bad_json("device_keys.keys needs ed25519:" + auth.device_id + " and curve25519:" + auth.device_id);
    if (!e2ee::verify_json(*device_keys, auth.user_id, "ed25519:" + auth.device_id, *key))
      throw http::invalid_param("The device keys' self-signature does not verify.");
    ed25519 = key;
  }

  struct Pending {
    std::string algorithm, key_id, json;
  };
  std::vector<Pending> otks, fallbacks;
  auto collect = [&](const char* field, std::vector<Pending>& out) {
    auto* v = body.if_contains(field);
    if (!v || v->is_null()) return;
    if (!v->is_object()) throw http::bad_json(std::string(field) + " must be an object");
    for (const auto& kv : v->as_object()) {
      std::string id(kv.key());
      auto colon = id.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == id.size())
        throw http::invalid_param("key ids must look like algorithm:key_id");
      verify_key_object(kv.value(), auth.user_id, auth.device_id, ed25519, id);
      out.push_back(Pending{id.substr(0, colon), id.substr(colon + 1), boost::json::serialize(kv.value())});
    }
  };
  collect("one_time_keys", otks);
  collect("fallback_keys", fallbacks);
  collect("org.matrix.msc2732.fallback_keys", fallbacks);

  {
    store::WriteUnit unit(hs.db);
    if (device_keys) hs.keys.set_device_keys(unit, auth.user_id, auth.device_id, boost::json::serialize(*device_keys));
    for (const auto& k : otks) hs.keys.add_one_time_key(unit, auth.user_id, auth.device_id, k.algorithm, k.key_id, k.json);
    for (const auto& k : fallbacks)
      hs.keys.set_fallback_key(unit, auth.user_id, auth.device_id, k.algorithm, k.key_id, k.json);
    unit.release();
  }
  co_await hs.db.commit();
  object counts;
  for (const auto& [alg, n] : hs.keys.one_time_key_counts(auth.user_id, auth.device_id)) counts[alg] = n;
  co_return Response::json({{"one_time_key_counts", std::move(counts)}});
}

awaitable<Response> post_query(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  const auto& body = r.json_object();
  const auto& wanted = req_object(body, "device_keys");
  object device_keys, master_keys, self_signing_keys, user_signing_keys;
  for (const auto& kv : wanted) {
    std::string user(kv.key());
    if (!kv.value().is_array()) throw http::bad_json("device_keys values must be lists of device ids");
    // Users the caller may not reach (Policy::may_reach: a seeker and anyone she shares no room
    // with) are left out exactly like unknown users: the spec records no failure for an unknown
    // user, it is just missing from device_keys. Nothing tells them apart from nonexistent ones.
    if (!hs.accounts.user_exists(user) || !hs.policy.may_reach(hs.rooms, auth.user_id, user)) continue;
    std::set<std::string> only;
    for (const auto& d : kv.value().as_array())
      if (d.is_string()) only.insert(std::string(d.get_string()));
    object devices;
    for (const auto& [device_id, json] : hs.keys.all_device_keys(user)) {
      if (!only.empty() && !only.count(device_id)) continue;
      auto stored = core::read_stored_object(json, "device keys", device_id);  // skipped if unreadable
      if (!stored) continue;
      auto keys = std::move(*stored);
      merge_signatures(hs, keys, user, device_id, auth.user_id);
      object unsigned_;
      if (auto info = hs.accounts.device(user, device_id); info && info->display_name)
        unsigned_["device_display_name"] = *info->display_name;
      keys["unsigned"] = std::move(unsigned_);
      devices[device_id] = std::move(keys);
    }
    device_keys[user] = std::move(devices);
    auto add_cross = [&](const char* usage, object& into) {
      auto json = hs.keys.cross_signing_key(user, usage);
      if (!json) return;
      auto stored = core::read_stored_object(*json, "cross-signing key", usage);  // skipped if unreadable
      if (!stored) return;
      auto key = std::move(*stored);
      merge_signatures(hs, key, user, cross_signing_public_key(key).second, auth.user_id);
      into[user] = std::move(key);
    };
    add_cross("master", master_keys);
    add_cross("self_signing", self_signing_keys);
    if (user == auth.user_id) add_cross("user_signing", user_signing_keys);
  }
  co_return Response::json({{"device_keys", std::move(device_keys)},
                            {"master_keys", std::move(master_keys)},
                            {"self_signing_keys", std::move(self_signing_keys)},
                            {"user_signing_keys", std::move(user_signing_keys)},
                            {"failures", object{}}});
}

awaitable<Response> post_claim(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  const auto& body = r.json_object();
  const auto& wanted = req_object(body, "one_time_keys");
  object result;
  {
    store::WriteUnit unit(hs.db);
    for (const auto& user_kv : wanted) {
      if (!user_kv.value().is_object()) throw http::bad_json("one_time_keys values must be objects");
      std::string user(user_kv.key());
      // As in /keys/query: users the caller may not reach get no keys handed out and no failure,
      // as if unknown (their one-time keys cannot be drained by strangers).
      if (!hs.policy.may_reach(hs.rooms, auth.user_id, user)) continue;
      object devices;
      for (const auto& dev_kv : user_kv.value().as_object()) {
        if (!dev_kv.value().is_string()) throw http::bad_json("the algorithm must be a string");
        auto key = hs.keys.claim(unit, user, std::string(dev_kv.key()), std::string(dev_kv.value().get_string()));
        if (!key) continue;
        // An unreadable stored key (older version) is spent and left out, like an exhausted device.
        auto stored = core::read_stored_json(key->second, "one-time key", key->first);
        if (!stored) continue;
        devices[dev_kv.key()] = object{{std::string(dev_kv.value().get_string()) + ":" + key->first, std::move(*stored)}};
      }
      if (!devices.empty()) result[user] = std::move(devices);
    }
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json({{"one_time_keys", std::move(result)}, {"failures", object{}}});
}

awaitable<Response> get_changes(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  auto from = r.query_param("from");
  auto to = r.query_param("to");
  if (!from || !to) throw http::missing_param("from and to are required");
  auto f = core::SyncToken::parse(*from);
  if (!f || !core::SyncToken::parse(*to)) throw http::invalid_param("invalid from or to token");
  auto [changed, left] = hs.sync.device_list_delta(auth.user_id, f->stream);
  boost::json::array c, l;
  for (const auto& u : changed) c.push_back(boost::json::value(u));
  for (const auto& u : left) l.push_back(boost::json::value(u));
  co_return Response::json({{"changed", std::move(c)}, {"left", std::move(l)}});
}

void check_cross_signing_key(const object& key, const std::string& user_id, const std::string& usage) {
  if (opt_string(key, "user_id") != user_id) throw http::invalid_param("cross-signing keys must be the user's own");
  auto* u = key.if_contains("usage");
  bool ok = false;
  if (u && u->is_array())
    for (const auto& x : u->as_array()) ok = ok || (x.is_string() && x.get_string() == usage);
  if (!ok) throw http::invalid_param("the " + usage + " key must list usage '" + usage + "'");
  cross_signing_public_key(key);
}

awaitable<Response> post_device_signing(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  const auto& body = r.json_object();
  static const std::pair<const char*, const char*> kFields[] = {
      {"master_key", "master"}, {"self_signing_key", "self_signing"}, {"user_signing_key", "user_signing"}};
  std::vector<std::pair<std::string, object>> uploads;
  for (auto [field, usage] : kFields) {
    auto* v = body.if_contains(field);
    if (!v || v->is_null()) continue;
    if (!v->is_object()) throw http::bad_json(std::string(field) + " must be an object");
    check_cross_signing_key(v->get_object(), auth.user_id, usage);
    uploads.emplace_back(usage, v->get_object());
  }
  // The master key (new or stored) must sign the other two.
  std::optional<object> master;
  for (auto& [usage, key] : uploads)
    if (usage == "master") master = key;
  if (!master)
    if (auto stored = hs.keys.cross_signing_key(auth.user_id, "master")) master = parse_object(*stored);
  for (auto& [usage, key] : uploads) {
    if (usage == "master") continue;
    if (!master) throw http::invalid_param("Upload a master key first.");
    auto [key_id, pub] = cross_signing_public_key(*master);
    if (!e2ee::verify_json(key, auth.user_id, key_id, pub))
      throw http::invalid_param("The " + usage + " key is not signed by the master key.");
  }
  // MSC3967: the first upload, or re-uploading identical keys, needs no password.
  bool has_existing = hs.keys.cross_signing_key(auth.user_id, "master").has_value();
  bool identical = true;
  for (auto& [usage, key] : uploads) {
    auto stored = hs.keys.cross_signing_key(auth.user_id, usage);
    identical = identical && stored && unsigned_form(parse_object(*stored)) == unsigned_form(key);
  }
  if (has_existing && !identical) co_await require_password_uia(hs, r, auth.user_id);
  {
    store::WriteUnit unit(hs.db);
    for (auto& [usage, key] : uploads) hs.keys.set_cross_signing_key(unit, auth.user_id, usage, boost::json::serialize(key));
    unit.release();
  }
  co_await hs.db.commit();
  co_return empty_ok();
}

awaitable<Response> post_signatures(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  const auto& body = r.json_object();
  object failures;
  auto fail = [&](const std::string& user, const std::string& key, const char* errcode, const std::string& msg) {
    auto& u = failures[user];
    if (!u.is_object()) u = object{};
    u.as_object()[key] = object{{"errcode", errcode}, {"error", msg}};
  };
  struct NewSignature {
    std::string target_user, target_key, signer_key, signature;
  };
  std::vector<NewSignature> accepted;
  auto own_key = [&](const char* usage) -> std::optional<std::pair<std::string, std::string>> {
    auto stored = hs.keys.cross_signing_key(auth.user_id, usage);
    if (!stored) return std::nullopt;
    return cross_signing_public_key(parse_object(*stored));
  };

  for (const auto& user_kv : body) {
    std::string user(user_kv.key());
    if (!user_kv.value().is_object()) throw http::bad_json("signatures must be grouped by user");
    bool reachable = hs.policy.may_reach(hs.rooms, auth.user_id, user);
    for (const auto& key_kv : user_kv.value().as_object()) {
      std::string target(key_kv.key());
      if (!reachable) {  // the keys of users the caller may not reach are unknown to them
        fail(user, target, "M_NOT_FOUND", "unknown device or key");
        continue;
      }
      if (!key_kv.value().is_object()) {
        fail(user, target, "M_BAD_JSON", "the signed key must be an object");
        continue;
      }
      const auto& signed_obj = key_kv.value().get_object();
      // What is being signed, and which key of ours may sign it.
      std::optional<std::string> stored;
      std::vector<std::pair<std::string, std::string>> signers;  // (key id, public key)
      std::string target_key = target;
      if (user == auth.user_id && hs.accounts.device(user, target) && (stored = hs.keys.device_keys(user, target))) {
        if (auto ssk = own_key("self_signing")) signers.push_back(*ssk);
      } else if (auto master = hs.keys.cross_signing_key(user, "master");
                 master && cross_signing_public_key(parse_object(*master)).second == target) {
        stored = master;
        if (user == auth.user_id) {
          for (const auto& [device_id, json] : hs.keys.all_device_keys(user))
            if (auto k = device_ed25519_key(parse_object(json), device_id)) signers.emplace_back("ed25519:" + device_id, *k);
        } else if (auto usk = own_key("user_signing")) {
          signers.push_back(*usk);
        }
      } else {
        fail(user, target, "M_NOT_FOUND", "unknown device or key");
        continue;
      }
      if (unsigned_form(parse_object(*stored)) != unsigned_form(signed_obj)) {
        fail(user, target, "M_INVALID_SIGNATURE", "the signed object differs from the stored key");
        continue;
      }
      bool any = false;
      for (const auto& [key_id, pub] : signers) {
        auto* sigs = signed_obj.if_contains("signatures");
        if (!sigs || !sigs->is_object()) break;
        auto* mine = sigs->as_object().if_contains(auth.user_id);
        if (!mine || !mine->is_object() || !mine->as_object().contains(key_id)) continue;
        if (!e2ee::verify_json(signed_obj, auth.user_id, key_id, pub)) continue;
        accepted.push_back(NewSignature{user, target_key, key_id, std::string(mine->as_object().at(key_id).as_string())});
        any = true;
      }
      if (!any) fail(user, target, "M_INVALID_SIGNATURE", "no valid signature by a key allowed to sign this");
    }
  }
  {
    store::WriteUnit unit(hs.db);
    for (const auto& s : accepted)
      hs.keys.add_signature(unit, s.target_user, s.target_key, auth.user_id, s.signer_key, s.signature);
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json({{"failures", std::move(failures)}});
}

}  // namespace

void register_key_routes(http::Router& router, Homeserver& hs) {
  client_route(router, verb::post, "/keys/upload", [&hs](Request& r) { return post_upload(hs, r); });
  client_route(router, verb::post, "/keys/query", [&hs](Request& r) { return post_query(hs, r); });
  client_route(router, verb::post, "/keys/claim", [&hs](Request& r) { return post_claim(hs, r); });
  client_route(router, verb::get, "/keys/changes", [&hs](Request& r) { return get_changes(hs, r); });
  client_route(router, verb::post, "/keys/device_signing/upload", [&hs](Request& r) { return post_device_signing(hs, r); });
  // Its name while cross-signing was MSC1756 (older clients and sytest still use it).
  raw_route(router, verb::post, "/_matrix/client/unstable/keys/device_signing/upload",
            [&hs](Request& r) { return post_device_signing(hs, r); });
  client_route(router, verb::post, "/keys/signatures/upload", [&hs](Request& r) { return post_signatures(hs, r); });
}

}  // namespace lotse::api
