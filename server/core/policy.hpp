// Who may do what (roles: seeker, counselor, admin, service), enforced by the server whatever client
// is used. Each check throws CoreError M_FORBIDDEN with a message a person can act on.
#pragma once
#include <string>

#include "server/core/accounts.hpp"
#include "server/core/counseling.hpp"
#include "server/core/rooms.hpp"

namespace lotse::core {

class Policy {
 public:
  Policy(Accounts& accounts, Counseling& counseling) : accounts_(accounts), counseling_(counseling) {}

  bool is_seeker(const std::string& user_id) { return accounts_.role(user_id) == "seeker"; }
  bool is_staff(const std::string& user_id);  // counselor, admin or the service user

  void check_create_room(const std::string& user_id);
  // An invite in `createRoom`: the new room is no consultation, so seekers cannot be invited.
  void check_create_room_invite(const std::string& creator, const std::string& target);
  // Seekers are invited only into their own consultations, and only by the server (service user).
  void check_invite(const std::string& room_id, const std::string& inviter, const std::string& target);
  // Kick, ban or unban (a member event of `sender` about another user): a seeker only in her own
  // consultation, so no other room ever shows up in her /sync.
  void check_remove(const std::string& room_id, const std::string& sender, const std::string& target);
  void check_join(const std::string& room_id, const std::string& user_id);
  // Room upgrades: by those who may create rooms, and never of a consultation or the internal
  // exchange, which are bound to their room (the seeker would stay behind in the old one).
  void check_upgrade(const std::string& room_id, const std::string& user_id);

  // Whether `from` may address `to` directly: query or claim their keys, send them to-device
  // messages, sign their keys, see their profile or find them in the user directory. Oneself
  // always; staff reach staff freely; any other pair (one of them a seeker, or an unknown user)
  // needs a shared room: both with membership join or invite in some room. The bridge's account
  // and imported accounts reach each other (key delivery of the imported history).
  bool may_reach(Rooms& rooms, const std::string& from, const std::string& to);
  // Seekers see their own profile, counselors' (public in the counselor directory anyway) and the
  // staff they share a room with; staff see staff and the seekers they share a room with.
  void check_profile_visible(Rooms& rooms, const std::string& viewer, const std::string& target);
  // Whether `target`, who shares a room with `viewer`, may appear in `viewer`'s user directory
  // results: never the service user or another seeker for a seeker.
  bool directory_visible(const std::string& viewer, const std::string& target);

 private:
  Accounts& accounts_;
  Counseling& counseling_;
};

}  // namespace lotse::core
