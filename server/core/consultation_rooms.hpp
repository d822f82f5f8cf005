// Consultation rooms: opening one (an end-to-end encrypted room with the seeker, the counselor and
// the instance's service user), handing it over to another counselor, closing and reopening it.
#pragma once
#include <string>
#include <vector>

#include "server/core/accounts.hpp"
#include "server/core/counseling.hpp"
#include "server/core/rooms.hpp"

namespace lotse::core {

class ConsultationRooms {
 public:
  ConsultationRooms(Rooms& rooms, Counseling& counseling, Accounts& accounts, std::string service_user)
      : rooms_(rooms), counseling_(counseling), accounts_(accounts), service_user_(std::move(service_user)) {}

  const std::string& service_user() const { return service_user_; }

  // Creates the room; the seeker joins, the counselor is invited. Posts the counselor's absence
  // notice if one is current. Returns the room id.
  std::string open(store::WriteUnit& unit, const std::string& seeker, const CounselorProfile& counselor,
                   const std::string& topic_id, const std::string& today);
  // The createRoom request of a consultation room: its power levels, encryption, history visibility
  // and de.lotse.consultation state; the seeker and the counselor are invited.
  boost::json::object room_request(const Consultation& c, const std::string& name) const;
  // Rooms opened before consultations named the service user as a functional member get the
  // io.element.functional_members and m.member_hints state now (and power levels that leave them
  // to the service user); a room where that is refused is reported, not fatal.
  struct MemberHintsUpgrade {
    std::size_t rooms = 0;             // rooms changed
    std::vector<std::string> failed;   // "room id: why"
  };
  MemberHintsUpgrade add_member_hints(store::WriteUnit& unit);
  void transfer(store::WriteUnit& unit, const std::string& room_id, const CounselorProfile& to);
  void set_status(store::WriteUnit& unit, const std::string& room_id, const std::string& status);

 private:
  void update_state(store::WriteUnit& unit, const RoomInfo& room, const Consultation& c,
                    const boost::json::array& history);
  void notice(store::WriteUnit& unit, const RoomInfo& room, const std::string& text);
  boost::json::object service_members_content() const;

  Rooms& rooms_;
  Counseling& counseling_;
  Accounts& accounts_;
  std::string service_user_;
};

}  // namespace lotse::core
