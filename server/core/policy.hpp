// Who may do what (roles: seeker, counselor, admin, service), enforced by the server whatever client
// is used. Each check throws CoreError M_FORBIDDEN with a message a person can act on.
#pragma once
#include <string>

#include "server/core/accounts.hpp"
#include "server/core/counseling.hpp"

namespace lotse::core {

class Policy {
 public:
  Policy(Accounts& accounts, Counseling& counseling) : accounts_(accounts), counseling_(counseling) {}

  bool is_seeker(const std::string& user_id) { return accounts_.role(user_id) == "seeker"; }
  bool is_staff(const std::string& user_id);  // counselor, admin or the service user

  void check_create_room(const std::string& user_id);
  void check_invite(const std::string& room_id, const std::string& inviter, const std::string& target);
  void check_join(const std::string& room_id, const std::string& user_id);
  // Seekers may see their own profile and staff profiles only.
  void check_profile_visible(const std::string& viewer, const std::string& target);
  // Whether `target` may appear in `viewer`'s user directory results.
  bool directory_visible(const std::string& viewer, const std::string& target);

 private:
  Accounts& accounts_;
  Counseling& counseling_;
};

}  // namespace lotse::core
