// Data-protection requests and retention: export everything stored about a user, erase a user
// (profile gone, messages redacted for everyone, memberships left, files deleted), and purge
// inactive consultations completely.
#pragma once
#include <boost/json.hpp>

#include <string>

#include "server/core/account_data.hpp"
#include "server/core/accounts.hpp"
#include "server/core/counseling.hpp"
#include "server/core/keys.hpp"
#include "server/core/media.hpp"
#include "server/core/rooms.hpp"

namespace lotse::core {

class DataProtection {
 public:
  DataProtection(store::Database& db, Accounts& accounts, Rooms& rooms, Counseling& counseling, Media& media,
                 Keys& keys, std::string service_user)
      : db_(db), accounts_(accounts), rooms_(rooms), counseling_(counseling), media_(media), keys_(keys),
        service_user_(std::move(service_user)) {}

  boost::json::object export_user(const std::string& user_id);
  // Redacts the user's messages (as the user while joined, else as the service user where it has
  // the power), leaves every room, deletes files, keys and profile. Devices are removed by the caller.
  void erase_user(store::WriteUnit& unit, const std::string& user_id);
  // Deletes a room with all its events and state (retention).
  void purge_room(store::WriteUnit& unit, const std::string& room_id);

 private:
  store::Database& db_;
  Accounts& accounts_;
  Rooms& rooms_;
  Counseling& counseling_;
  Media& media_;
  Keys& keys_;
  std::string service_user_;
};

}  // namespace lotse::core
