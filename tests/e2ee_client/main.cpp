// lotse-e2ee-test-client: a Matrix client built on e2ee/ (libolm) that talks Olm/Megolm with other
// clients through a lotse server. It registers (as a seeker), publishes its device and one-time
// keys, optionally opens a consultation, joins the rooms it is invited to, decrypts the first text
// message it receives and answers it encrypted.
// Progress is printed as one JSON object per line for the test that drives it.
#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>
#include <map>
#include <set>

#include "e2ee/crypto.hpp"
#include "e2ee/olm.hpp"
#include "server/matrix_client/matrix_client.hpp"

using boost::json::array;
using boost::json::object;
using boost::json::value;
using lotse::client::MatrixClient;
using verb = boost::beast::http::verb;
namespace e2ee = lotse::e2ee;

namespace {

const char* kOlm = "m.olm.v1.curve25519-aes-sha2";
const char* kMegolm = "m.megolm.v1.aes-sha2";

void emit(const object& o) { std::cout << boost::json::serialize(o) << std::endl; }
std::string str(const value& v) { return std::string(v.as_string()); }

class Bot {
 public:
  Bot(MatrixClient& http, std::string user_id, std::string device_id)
      : http_(http), user_id_(std::move(user_id)), device_id_(std::move(device_id)) {}

  void publish_keys() {
    object device_keys{{"user_id", user_id_},
                       {"device_id", device_id_},
                       {"algorithms", array{kOlm, kMegolm}},
                       {"keys", {{"ed25519:" + device_id_, account_.ed25519()},
                                 {"curve25519:" + device_id_, account_.curve25519()}}}};
    account_.sign_json(device_keys, user_id_, device_id_);
    account_.generate_one_time_keys(20);
    account_.generate_fallback_key();
    object otks, fallback;
    for (const auto& kv : account_.one_time_keys()) otks["signed_curve25519:" + std::string(kv.key())] = signed_key(kv.value(), false);
    for (const auto& kv : account_.unpublished_fallback_key())
      fallback["signed_curve25519:" + std::string(kv.key())] = signed_key(kv.value(), true);
    auto res = http_.call(verb::post, "/_matrix/client/v3/keys/upload",
                          object{{"device_keys", device_keys}, {"one_time_keys", otks}, {"fallback_keys", fallback}});
    account_.mark_keys_as_published();
    emit({{"ready", true}, {"user_id", user_id_}, {"device_id", device_id_},
          {"one_time_key_counts", res["one_time_key_counts"]}});
  }

  // Runs sync until a message was answered or the deadline passes. Returns true on success.
  bool run(std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    std::string since;
    while (std::chrono::steady_clock::now() < deadline) {
      std::string path = "/_matrix/client/v3/sync?timeout=2000";
      if (!since.empty()) path += "&since=" + MatrixClient::url_encode(since);
      auto sync = http_.call(verb::get, path);
      since = str(sync["next_batch"]);
      for (const auto& ev : sync["to_device"].as_object()["events"].as_array()) on_to_device(ev.as_object());
      const auto& rooms = sync["rooms"].as_object();
      for (const auto& kv : rooms.at("invite").as_object())
        http_.call(verb::post, "/_matrix/client/v3/join/" + MatrixClient::url_encode(std::string(kv.key())), object{});
      for (const auto& kv : rooms.at("join").as_object())
        for (const auto& ev : kv.value().as_object().at("timeline").as_object().at("events").as_array())
          pending_.push_back({std::string(kv.key()), ev.as_object()});
      // Room keys may arrive after the message that needs them: retry what could not be decrypted.
      std::vector<std::pair<std::string, object>> still;
      for (auto& [room, ev] : pending_) {
        auto result = try_room_event(room, ev);
        if (result == Result::waiting) still.push_back({room, ev});
        if (result == Result::answered) return true;
      }
      pending_ = std::move(still);
    }
    emit({{"error", "timed out"}, {"undecrypted", pending_.size()}});
    return false;
  }

 private:
  enum class Result { ignored, waiting, answered };

  object signed_key(const value& key, bool fallback) {
    object o{{"key", key}};
    if (fallback) o["fallback"] = true;
    account_.sign_json(o, user_id_, device_id_);
    return o;
  }

  void on_to_device(const object& ev) {
    if (str(ev.at("type")) != "m.room.encrypted") return;
    const auto& content = ev.at("content").as_object();
    if (str(content.at("algorithm")) != kOlm) return;
    auto* mine = content.at("ciphertext").as_object().if_contains(account_.curve25519());
    if (!mine) return;
    std::string sender_key = str(content.at("sender_key"));
    int type = static_cast<int>(mine->as_object().at("type").to_number<std::int64_t>());
    std::string body = str(mine->as_object().at("body"));
    std::string plaintext;
    bool decrypted = false;
    for (auto& s : sessions_[sender_key]) {
      if (type == 0 && !s.matches_inbound(sender_key, body)) continue;
      try {
        plaintext = s.decrypt(type, body);
        decrypted = true;
        break;
      } catch (const e2ee::OlmError&) {
      }
    }
    if (!decrypted) {
      if (type != 0) return emit({{"warning", "olm message for an unknown session"}});
      auto session = e2ee::Session::inbound(account_, sender_key, body);
      plaintext = session.decrypt(type, body);
      sessions_[sender_key].push_back(std::move(session));
    }
    auto payload = boost::json::parse(plaintext).as_object();
    // The payload must be addressed to this device by the device the server says sent it.
    if (str(payload.at("recipient")) != user_id_ ||
        str(payload.at("recipient_keys").as_object().at("ed25519")) != account_.ed25519() ||
        str(payload.at("sender")) != str(ev.at("sender")))
      return emit({{"warning", "olm payload not addressed to this device"}});
    if (str(payload.at("type")) != "m.room_key") return;
    const auto& key = payload.at("content").as_object();
    if (str(key.at("algorithm")) != kMegolm) return;
    group_sessions_.emplace(str(key.at("session_id")), e2ee::InboundGroupSession(str(key.at("session_key"))));
    emit({{"room_key", str(key.at("session_id"))}, {"from", str(ev.at("sender"))}});
  }

  Result try_room_event(const std::string& room_id, const object& ev) {
    if (str(ev.at("type")) != "m.room.encrypted" || str(ev.at("sender")) == user_id_) return Result::ignored;
    const auto& content = ev.at("content").as_object();
    if (str(content.at("algorithm")) != kMegolm) return Result::ignored;
    auto it = group_sessions_.find(str(content.at("session_id")));
    if (it == group_sessions_.end()) return Result::waiting;
    auto decrypted = it->second.decrypt(str(content.at("ciphertext")));
    auto plain = boost::json::parse(decrypted.plaintext).as_object();
    if (str(plain.at("room_id")) != room_id) return Result::ignored;
    auto body = str(plain.at("content").as_object().at("body"));
    emit({{"received", body}, {"sender", str(ev.at("sender"))}, {"event_id", str(ev.at("event_id"))}});
    reply(room_id, "C++ client read: " + body);
    return Result::answered;
  }

  // Shares a new Megolm session with every device in the room over Olm, then sends the message.
  void reply(const std::string& room_id, const std::string& text) {
    e2ee::OutboundGroupSession group;
    auto members = http_.call(verb::get, "/_matrix/client/v3/rooms/" + MatrixClient::url_encode(room_id) + "/joined_members");
    object wanted;
    for (const auto& kv : members["joined"].as_object()) wanted[kv.key()] = array{};
    auto keys = http_.call(verb::post, "/_matrix/client/v3/keys/query", object{{"device_keys", wanted}});

    std::map<std::pair<std::string, std::string>, object> devices;  // verified device keys
    object claim;
    for (const auto& user_kv : keys["device_keys"].as_object())
      for (const auto& dev_kv : user_kv.value().as_object()) {
        std::string user(user_kv.key()), device(dev_kv.key());
        if (user == user_id_ && device == device_id_) continue;
        auto dk = dev_kv.value().as_object();
        std::string ed = str(dk["keys"].as_object()["ed25519:" + device]);
        if (!e2ee::verify_json(dk, user, "ed25519:" + device, ed)) {
          emit({{"warning", "device keys with a bad signature skipped"}, {"device", device}});
          continue;
        }
        devices[{user, device}] = dk;
        auto& u = claim[user];
        if (!u.is_object()) u = object{};
        u.as_object()[device] = "signed_curve25519";
      }
    auto claimed = http_.call(verb::post, "/_matrix/client/v3/keys/claim", object{{"one_time_keys", claim}});

    object messages;
    std::size_t shared = 0;
    for (const auto& [id, dk] : devices) {
      const auto& [user, device] = id;
      auto* u = claimed["one_time_keys"].as_object().if_contains(user);
      auto* d = u ? u->as_object().if_contains(device) : nullptr;
      if (!d || d->as_object().empty()) continue;
      auto otk = d->as_object().begin()->value().as_object();
      std::string ed = str(dk.at("keys").as_object().at("ed25519:" + device));
      std::string curve = str(dk.at("keys").as_object().at("curve25519:" + device));
      if (!e2ee::verify_json(otk, user, "ed25519:" + device, ed)) continue;
      auto session = e2ee::Session::outbound(account_, curve, str(otk["key"]));
      object payload{{"type", "m.room_key"},
                     {"content", {{"algorithm", kMegolm}, {"room_id", room_id}, {"session_id", group.id()},
                                  {"session_key", group.session_key()}}},
                     {"sender", user_id_},
                     {"sender_device", device_id_},
                     {"keys", {{"ed25519", account_.ed25519()}}},
                     {"recipient", user},
                     {"recipient_keys", {{"ed25519", ed}}}};
      auto msg = session.encrypt(boost::json::serialize(payload));
      auto& per_user = messages[user];
      if (!per_user.is_object()) per_user = object{};
      per_user.as_object()[device] = object{{"algorithm", kOlm},
                                            {"sender_key", account_.curve25519()},
                                            {"ciphertext", {{curve, {{"type", msg.type}, {"body", msg.body}}}}}};
      ++shared;
    }
    http_.call(verb::put, "/_matrix/client/v3/sendToDevice/m.room.encrypted/" + e2ee::random_token(8),
               object{{"messages", messages}});
    object plain{{"type", "m.room.message"}, {"content", {{"msgtype", "m.text"}, {"body", text}}}, {"room_id", room_id}};
    object content{{"algorithm", kMegolm},
                   {"sender_key", account_.curve25519()},
                   {"ciphertext", group.encrypt(boost::json::serialize(plain))},
                   {"session_id", group.id()},
                   {"device_id", device_id_}};
    auto sent = http_.call(verb::put, "/_matrix/client/v3/rooms/" + MatrixClient::url_encode(room_id) +
                                          "/send/m.room.encrypted/" + e2ee::random_token(8),
                           content);
    emit({{"sent", sent["event_id"]}, {"shared_with_devices", shared}, {"body", text}});
  }

  MatrixClient& http_;
  std::string user_id_, device_id_;
  e2ee::Account account_;
  std::map<std::string, std::vector<e2ee::Session>> sessions_;  // by sender curve25519 key
  std::map<std::string, e2ee::InboundGroupSession> group_sessions_;
  std::vector<std::pair<std::string, object>> pending_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Matrix E2EE test client on libolm: answers the first encrypted message it receives"};
  std::string server, user, password = "test-client-password";
  int seconds = 60;
  std::string consult_with, topic;
  app.add_option("--server", server, "base URL, e.g. http://127.0.0.1:8008")->required();
  app.add_option("--user", user, "localpart to register")->required();
  app.add_option("--password", password, "password for the new account");
  app.add_option("--timeout", seconds, "seconds to wait for a message");
  app.add_option("--consult-with", consult_with, "as a seeker, open a consultation with this counselor");
  app.add_option("--topic", topic, "topic of that consultation");
  CLI11_PARSE(app, argc, argv);
  try {
    e2ee::init_crypto();
    MatrixClient http(server);
    auto [user_id, device_id] = http.register_user(user, password);
    Bot bot(http, user_id, device_id);
    bot.publish_keys();
    if (!consult_with.empty()) {
      auto c = http.call(verb::post, "/_lotse/client/v1/consultations",
                         object{{"counselor", consult_with}, {"topic", topic}});
      emit({{"consultation", c["room_id"]}});
    }
    return bot.run(std::chrono::seconds(seconds)) ? 0 : 1;
  } catch (const std::exception& e) {
    emit({{"error", e.what()}});
    return 1;
  }
}
