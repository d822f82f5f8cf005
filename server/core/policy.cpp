// Role rules.
#include "server/core/policy.hpp"

#include "server/core/errors.hpp"

namespace lotse::core {

bool Policy::is_staff(const std::string& user_id) {
  auto role = accounts_.role(user_id);
  return role == "counselor" || role == "admin" || role == "service";
}

void Policy::check_create_room(const std::string& user_id) {
  if (is_seeker(user_id))
    throw forbidden("Seekers cannot create rooms. Open a consultation with a counselor instead.");
}

void Policy::check_invite(const std::string& room_id, const std::string& inviter, const std::string& target) {
  if (is_seeker(inviter)) throw forbidden("Seekers cannot invite anyone.");
  if (counseling_.is_exchange_room(room_id) && !is_staff(target))
    throw forbidden("Only counselors and administrators can be members of the internal exchange.");
  if (auto c = counseling_.consultation(room_id); c && is_seeker(target) && target != c->seeker)
    throw forbidden("Another seeker cannot be invited into a consultation.");
}

void Policy::check_join(const std::string& room_id, const std::string& user_id) {
  if (counseling_.is_exchange_room(room_id) && !is_staff(user_id))
    throw forbidden("The internal exchange is open to counselors and administrators only.");
  if (is_seeker(user_id)) {
    auto c = counseling_.consultation(room_id);
    if (!c || c->seeker != user_id) throw forbidden("Seekers can only join their own consultations.");
  }
}

void Policy::check_profile_visible(const std::string& viewer, const std::string& target) {
  if (viewer == target || !is_seeker(viewer)) return;
  if (!is_staff(target)) throw forbidden("Seekers cannot see other seekers' profiles.");
}

bool Policy::directory_visible(const std::string& viewer, const std::string& target) {
  if (viewer == target) return true;
  if (is_seeker(viewer)) return is_staff(target) && accounts_.role(target) != "service";
  return true;
}

}  // namespace lotse::core
