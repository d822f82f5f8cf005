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
#include "server/matrix_client/olm_device.hpp"

using boost::json::array;
using boost::json::object;
using boost::json::value;
using lotse::client::MatrixClient;
using verb = boost::beast::http::verb;
namespace e2ee = lotse::e2ee;

namespace {

const char* kOlm = lotse::client::kOlmAlgorithm;
const char* kMegolm = lotse::client::kMegolmAlgorithm;

void emit(const object& o) { std::cout << boost::json::serialize(o) << std::endl; }
std::string str(const value& v) { return std::string(v.as_string()); }

class Bot {
 public:
  Bot(MatrixClient& http, std::string user_id, std::string device_id)
      : http_(http), user_id_(user_id), device_id_(device_id), device_(http, user_id, device_id, account_) {}

  void publish_keys() {
    auto res = device_.publish_keys(20);
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
    std::vector<std::string> users;
    for (const auto& kv : members["joined"].as_object()) users.emplace_back(kv.key());
    std::size_t skipped = 0;
    auto devices = device_.query(users, &skipped);
    if (skipped) emit({{"warning", "device keys with a bad signature skipped"}, {"count", skipped}});
    std::map<std::pair<std::string, std::string>, std::vector<lotse::client::OlmDevice::Event>> events;
    for (const auto& d : devices)
      events[{d.user_id, d.device_id}].push_back(
          {"m.room_key", object{{"algorithm", kMegolm}, {"room_id", room_id}, {"session_id", group.id()},
                                {"session_key", group.session_key()}}});
    std::size_t shared = device_.send_encrypted(devices, events).size();
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
  lotse::client::OlmDevice device_;
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
