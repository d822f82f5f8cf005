// `lotse-bridge serve` and `status`: the imported history is encrypted with Megolm sessions the
// bridge created; their keys go over Olm, from the bridge's device, to the devices of the people who
// were members of the room in the old system, and to nobody else. Each device gets each key once
// (recorded in the state file); a device that appears later (a new phone, a new Element session)
// gets its keys in the next round.
#pragma once
#include <boost/json.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <memory>
#include <string>

#include "bridge/state_file.hpp"
#include "e2ee/olm.hpp"
#include "server/matrix_client/matrix_client.hpp"
#include "server/matrix_client/olm_device.hpp"

namespace lotse::bridge {

class KeyDelivery {
 public:
  // `admin_token` lets it ask who is in a room now: keys follow the old system's membership and
  // Lotse's current one (someone removed since the import gets no more).
  KeyDelivery(StateFile& state, const std::string& server_url, const std::string& admin_token);

  struct Round {
    std::size_t devices = 0, sent_keys = 0;
  };
  // Looks at every member's devices once and sends what each is owed.
  Round deliver_once();
  // Members, their devices, and who still waits: members without any device yet, devices owed keys.
  boost::json::object status();

 private:
  struct Owed {
    client::DeviceKeys device;
    std::vector<StateFile::MegolmKey> keys;
  };
  std::vector<Owed> owed(std::size_t* members_without_device = nullptr, std::size_t* devices_total = nullptr);

  bool member_now(const std::string& room_id, const std::string& user_id);

  StateFile& state_;
  client::MatrixClient http_, admin_;
  std::map<std::string, std::set<std::string>> members_now_;  // per round
  e2ee::Account account_;
  client::OlmDevice device_;
};

}  // namespace lotse::bridge
