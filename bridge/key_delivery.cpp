// Key delivery rounds: keys/query for the members in batches, keys/claim and sendToDevice through
// OlmDevice, each delivery recorded once the server accepted it.
#include "bridge/key_delivery.hpp"

#include <map>
#include <set>

namespace lotse::bridge {
namespace {

constexpr std::size_t kQueryBatch = 100;
constexpr std::size_t kSendBatch = 50;  // devices per keys/claim + sendToDevice rounds

std::string required_meta(StateFile& state, const std::string& key) {
  auto v = state.meta(key);
  if (!v) throw std::runtime_error("the state file has no bridge device yet: run lotse-bridge import first");
  return *v;
}
std::string required_secret(StateFile& state, const std::string& key) {
  auto v = state.secret(key);
  if (!v) throw std::runtime_error("the state file has no bridge device yet: run lotse-bridge import first");
  return *v;
}

}  // namespace

KeyDelivery::KeyDelivery(StateFile& state, const std::string& server_url, const std::string& admin_token)
    : state_(state),
      http_(server_url),
      admin_(server_url),
      account_(e2ee::Account::unpickle(state.pickle_key(), required_secret(state, "bridge.olm_account"))),
      device_(http_, required_meta(state, "bridge.user"), required_meta(state, "bridge.device"), account_) {
  http_.set_access_token(required_secret(state, "bridge.token"));
  if (admin_token.empty()) throw std::runtime_error("an administrator's token is needed (--token or LOTSE_ADMIN_TOKEN)");
  admin_.set_access_token(admin_token);
}

bool KeyDelivery::member_now(const std::string& room_id, const std::string& user_id) {
  auto it = members_now_.find(room_id);
  if (it == members_now_.end()) {
    std::set<std::string> members;
    auto res = admin_.call(boost::beast::http::verb::get,
                           "/_lotse/admin/v1/import/rooms/" + client::MatrixClient::url_encode(room_id) + "/members");
    if (auto* m = res.if_contains("members"); m && m->is_array())
      for (const auto& u : m->as_array())
        if (u.is_string()) members.insert(std::string(u.get_string()));
    it = members_now_.emplace(room_id, std::move(members)).first;
  }
  return it->second.count(user_id) > 0;
}

std::vector<KeyDelivery::Owed> KeyDelivery::owed(std::size_t* members_without_device, std::size_t* devices_total) {
  std::map<std::string, std::vector<StateFile::MegolmKey>> keys_by_room;
  for (auto& k : state_.megolm_keys()) keys_by_room[k.room_id].push_back(std::move(k));
  auto members = state_.members();
  std::vector<Owed> out;
  std::set<std::string> with_device;
  for (std::size_t i = 0; i < members.size(); i += kQueryBatch) {
    std::vector<std::string> batch(members.begin() + static_cast<std::ptrdiff_t>(i),
                                   members.begin() + static_cast<std::ptrdiff_t>(std::min(members.size(), i + kQueryBatch)));
    for (auto& d : device_.query(batch)) {
      with_device.insert(d.user_id);
      if (devices_total) ++*devices_total;
      Owed o{d, {}};
      // Only the rooms this person was a member of in the old system and still is in Lotse.
      for (const auto& room : state_.rooms_of_member(d.user_id)) {
        std::vector<StateFile::MegolmKey> pending;
        for (const auto& k : keys_by_room[room])
          if (!state_.delivered(d.user_id, d.device_id, k.session_id)) pending.push_back(k);
        if (!pending.empty() && member_now(room, d.user_id)) o.keys.insert(o.keys.end(), pending.begin(), pending.end());
      }
      if (!o.keys.empty()) out.push_back(std::move(o));
    }
  }
  if (members_without_device) *members_without_device = members.size() - with_device.size();
  return out;
}

KeyDelivery::Round KeyDelivery::deliver_once() {
  Round round;
  members_now_.clear();
  auto todo = owed();
  for (std::size_t i = 0; i < todo.size(); i += kSendBatch) {
    std::vector<client::DeviceKeys> devices;
    std::map<std::pair<std::string, std::string>, std::vector<client::OlmDevice::Event>> events;
    for (std::size_t j = i; j < std::min(todo.size(), i + kSendBatch); ++j) {
      devices.push_back(todo[j].device);
      auto& list = events[{todo[j].device.user_id, todo[j].device.device_id}];
      for (const auto& k : todo[j].keys)
        list.push_back({"m.room_key", boost::json::object{{"algorithm", client::kMegolmAlgorithm},
                                                          {"room_id", k.room_id},
                                                          {"session_id", k.session_id},
                                                          {"session_key", k.session_key}}});
    }
    auto reached = device_.send_encrypted(devices, events);
    state_.begin();
    for (const auto& [user, device] : reached)
      for (const auto& ev : events[{user, device}]) {
        state_.mark_delivered(user, device, std::string(ev.content.at("session_id").as_string()));
        ++round.sent_keys;
      }
    state_.commit();
    round.devices += reached.size();
  }
  return round;
}

boost::json::object KeyDelivery::status() {
  members_now_.clear();
  std::size_t without = 0, devices = 0;
  auto todo = owed(&without, &devices);
  std::size_t keys = 0;
  for (const auto& o : todo) keys += o.keys.size();
  return boost::json::object{{"members", state_.members().size()},
                             {"members_without_device", without},
                             {"devices", devices},
                             {"devices_waiting", todo.size()},
                             {"keys_waiting", keys},
                             {"keys_delivered", state_.delivered_count()},
                             {"megolm_sessions", state_.megolm_keys().size()}};
}

}  // namespace lotse::bridge
