// Olm device operations over the client-server API (keys/upload, keys/query, keys/claim, sendToDevice).
#include "server/matrix_client/olm_device.hpp"

#include "e2ee/crypto.hpp"

namespace lotse::client {

using boost::json::array;
using boost::json::object;
using verb = boost::beast::http::verb;

namespace {
std::string str(const boost::json::value& v) { return v.is_string() ? std::string(v.get_string()) : std::string(); }
}  // namespace

object OlmDevice::signed_key(const boost::json::value& key, bool fallback) {
  object o{{"key", key}};
  if (fallback) o["fallback"] = true;
  account_.sign_json(o, user_id_, device_id_);
  return o;
}

object OlmDevice::publish_keys(std::size_t one_time_keys) {
  object device_keys{{"user_id", user_id_},
                     {"device_id", device_id_},
                     {"algorithms", array{kOlmAlgorithm, kMegolmAlgorithm}},
                     {"keys", {{"ed25519:" + device_id_, account_.ed25519()}, {"curve25519:" + device_id_, account_.curve25519()}}}};
  account_.sign_json(device_keys, user_id_, device_id_);
  account_.generate_one_time_keys(one_time_keys);
  account_.generate_fallback_key();
  object otks, fallback;
  for (const auto& kv : account_.one_time_keys()) otks["signed_curve25519:" + std::string(kv.key())] = signed_key(kv.value(), false);
  for (const auto& kv : account_.unpublished_fallback_key())
    fallback["signed_curve25519:" + std::string(kv.key())] = signed_key(kv.value(), true);
  auto res = http_.call(verb::post, "/_matrix/client/v3/keys/upload",
                        object{{"device_keys", device_keys}, {"one_time_keys", otks}, {"fallback_keys", fallback}});
  account_.mark_keys_as_published();
  return res;
}

void OlmDevice::replenish_one_time_keys(std::size_t target) {
  auto res = http_.call(verb::post, "/_matrix/client/v3/keys/upload", object{});
  std::int64_t have = 0;
  if (auto* c = res.if_contains("one_time_key_counts"); c && c->is_object())
    if (auto* n = c->as_object().if_contains("signed_curve25519"); n && n->is_int64()) have = n->as_int64();
  if (have >= static_cast<std::int64_t>(target)) return;
  account_.generate_one_time_keys(target - static_cast<std::size_t>(have));
  object otks;
  for (const auto& kv : account_.one_time_keys()) otks["signed_curve25519:" + std::string(kv.key())] = signed_key(kv.value(), false);
  http_.call(verb::post, "/_matrix/client/v3/keys/upload", object{{"one_time_keys", otks}});
  account_.mark_keys_as_published();
}

std::vector<DeviceKeys> OlmDevice::query(const std::vector<std::string>& users, std::size_t* skipped) {
  std::vector<DeviceKeys> out;
  if (users.empty()) return out;
  object wanted;
  for (const auto& u : users) wanted[u] = array{};
  auto keys = http_.call(verb::post, "/_matrix/client/v3/keys/query", object{{"device_keys", wanted}});
  auto* dk_all = keys.if_contains("device_keys");
  if (!dk_all || !dk_all->is_object()) return out;
  for (const auto& user_kv : dk_all->as_object()) {
    if (!user_kv.value().is_object()) continue;
    for (const auto& dev_kv : user_kv.value().as_object()) {
      std::string user(user_kv.key()), device(dev_kv.key());
      if (user == user_id_ && device == device_id_) continue;
      if (!dev_kv.value().is_object()) continue;
      const auto& dk = dev_kv.value().as_object();
      auto* k = dk.if_contains("keys");
      if (!k || !k->is_object()) continue;
      DeviceKeys d{user, device, str(k->as_object().contains("ed25519:" + device) ? k->as_object().at("ed25519:" + device) : nullptr),
                   str(k->as_object().contains("curve25519:" + device) ? k->as_object().at("curve25519:" + device) : nullptr)};
      // The server could hand out keys of its own making: only a self-signature with the device's
      // ed25519 key (and that it names itself) binds the curve25519 key to the device.
      if (d.ed25519.empty() || d.curve25519.empty() || str(dk.contains("user_id") ? dk.at("user_id") : nullptr) != user ||
          str(dk.contains("device_id") ? dk.at("device_id") : nullptr) != device ||
          !e2ee::verify_json(dk, user, "ed25519:" + device, d.ed25519)) {
        if (skipped) ++*skipped;
        continue;
      }
      out.push_back(std::move(d));
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> OlmDevice::send_encrypted(const std::vector<DeviceKeys>& devices,
                                      const std::map<std::pair<std::string, std::string>, std::vector<Event>>& events) {
  object claim;
  for (const auto& d : devices) {
    if (!events.count({d.user_id, d.device_id})) continue;
    auto& u = claim[d.user_id];
    if (!u.is_object()) u = object{};
    u.as_object()[d.device_id] = "signed_curve25519";
  }
  if (claim.empty()) return {};
  auto claimed = http_.call(verb::post, "/_matrix/client/v3/keys/claim", object{{"one_time_keys", claim}});
  auto* all = claimed.if_contains("one_time_keys");
  struct Target {
    const DeviceKeys* device;
    e2ee::Session session;
    const std::vector<Event>* events;
  };
  std::vector<Target> targets;
  for (const auto& d : devices) {
    auto it = events.find({d.user_id, d.device_id});
    if (it == events.end() || !all || !all->is_object()) continue;
    auto* u = all->as_object().if_contains(d.user_id);
    auto* dev = u && u->is_object() ? u->as_object().if_contains(d.device_id) : nullptr;
    if (!dev || !dev->is_object() || dev->as_object().empty()) continue;
    const auto& otk_v = dev->as_object().begin()->value();
    if (!otk_v.is_object()) continue;
    const auto& otk = otk_v.as_object();
    if (!e2ee::verify_json(otk, d.user_id, "ed25519:" + d.device_id, d.ed25519)) continue;
    auto* key = otk.if_contains("key");
    if (!key || !key->is_string()) continue;
    targets.push_back({&d, e2ee::Session::outbound(account_, d.curve25519, std::string(key->get_string())), &it->second});
  }
  for (std::size_t round = 0;; ++round) {
    object messages;
    for (auto& t : targets) {
      if (round >= t.events->size()) continue;
      const auto& ev = (*t.events)[round];
      object payload{{"type", ev.type},
                     {"content", ev.content},
                     {"sender", user_id_},
                     {"sender_device", device_id_},
                     {"keys", {{"ed25519", account_.ed25519()}}},
                     {"recipient", t.device->user_id},
                     {"recipient_keys", {{"ed25519", t.device->ed25519}}}};
      auto msg = t.session.encrypt(boost::json::serialize(payload));
      auto& per_user = messages[t.device->user_id];
      if (!per_user.is_object()) per_user = object{};
      per_user.as_object()[t.device->device_id] =
          object{{"algorithm", kOlmAlgorithm},
                 {"sender_key", account_.curve25519()},
                 {"ciphertext", {{t.device->curve25519, {{"type", msg.type}, {"body", msg.body}}}}}};
    }
    if (messages.empty()) break;
    http_.call(verb::put, "/_matrix/client/v3/sendToDevice/m.room.encrypted/" + e2ee::random_token(12),
               object{{"messages", messages}});
  }
  std::vector<std::pair<std::string, std::string>> reached;
  for (const auto& t : targets) reached.emplace_back(t.device->user_id, t.device->device_id);
  return reached;
}

}  // namespace lotse::client
