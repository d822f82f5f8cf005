// An end-to-end encryption device on top of MatrixClient and e2ee::Account: publishing its keys,
// finding other devices (only those whose keys carry a valid self-signature) and sending them
// to-device events encrypted with Olm. Shared by the C++ E2EE test client and lotse-bridge.
#pragma once
#include <boost/json.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "e2ee/olm.hpp"
#include "server/matrix_client/matrix_client.hpp"

namespace lotse::client {

inline constexpr const char* kOlmAlgorithm = "m.olm.v1.curve25519-aes-sha2";
inline constexpr const char* kMegolmAlgorithm = "m.megolm.v1.aes-sha2";

struct DeviceKeys {
  std::string user_id, device_id, ed25519, curve25519;
};

class OlmDevice {
 public:
  OlmDevice(MatrixClient& http, std::string user_id, std::string device_id, e2ee::Account& account)
      : http_(http), user_id_(std::move(user_id)), device_id_(std::move(device_id)), account_(account) {}

  const std::string& user_id() const { return user_id_; }
  const std::string& device_id() const { return device_id_; }
  e2ee::Account& account() { return account_; }

  // Uploads the signed device keys, `one_time_keys` signed one-time keys and a fallback key;
  // returns the server's answer (one_time_key_counts).
  boost::json::object publish_keys(std::size_t one_time_keys);
  // Tops the server's count of this device's one-time keys up to `target`.
  void replenish_one_time_keys(std::size_t target);

  // The devices of `users` whose device keys are signed by themselves (others are left out and
  // counted in `skipped` when given), excluding this device.
  std::vector<DeviceKeys> query(const std::vector<std::string>& users, std::size_t* skipped = nullptr);

  // One to-device event: its type and content, encrypted as one Olm message.
  struct Event {
    std::string type;
    boost::json::object content;
  };
  // Sends each device its events over a new Olm session (one claimed one-time key per device):
  // round k carries every device's k-th event in one sendToDevice request. Returns the number of
  // devices reached (those without a signed one-time key are not), as (user, device).
  std::vector<std::pair<std::string, std::string>> send_encrypted(const std::vector<DeviceKeys>& devices,
                             const std::map<std::pair<std::string, std::string>, std::vector<Event>>& events);

 private:
  boost::json::object signed_key(const boost::json::value& key, bool fallback);

  MatrixClient& http_;
  std::string user_id_, device_id_;
  e2ee::Account& account_;
};

}  // namespace lotse::client
