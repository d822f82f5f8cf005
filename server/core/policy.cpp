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
  if (accounts_.role(user_id) == "bridge") throw forbidden("The import's account delivers keys; it creates no rooms.");
}

void Policy::check_upgrade(const std::string& room_id, const std::string& user_id) {
  check_create_room(user_id);
  if (counseling_.consultation(room_id)) throw forbidden("A consultation keeps its room: it cannot be upgraded.");
  if (counseling_.is_exchange_room(room_id)) throw forbidden("The internal exchange keeps its rooms: they cannot be upgraded.");
}

void Policy::check_create_room_invite(const std::string& creator, const std::string& target) {
  if (target != creator && is_seeker(target))
    throw forbidden("Seekers can only be invited into their own consultations, which the server opens for them.");
}

void Policy::check_invite(const std::string& room_id, const std::string& inviter, const std::string& target) {
  if (is_seeker(inviter)) throw forbidden("Seekers cannot invite anyone.");
  if (accounts_.role(inviter) == "bridge") throw forbidden("The import's account invites nobody.");
  if (counseling_.is_exchange_room(room_id) && !is_staff(target))
    throw forbidden("Only counselors and administrators can be members of the internal exchange.");
  if (!is_seeker(target)) return;
  auto c = counseling_.consultation(room_id);
  if (c && target != c->seeker) throw forbidden("Another seeker cannot be invited into a consultation.");
  if (!c) throw forbidden("Seekers can only be invited into their own consultations, which the server opens for them.");
  if (accounts_.role(inviter) != "service")
    throw forbidden("Seekers are added to their consultations by the server; nobody can invite them.");
}

void Policy::check_remove(const std::string& room_id, const std::string& sender, const std::string& target) {
  if (sender == target || !is_seeker(target)) return;
  auto c = counseling_.consultation(room_id);
  if (!c || c->seeker != target)
    throw forbidden("A seeker can only be removed or banned from her own consultation.");
}

void Policy::check_join(const std::string& room_id, const std::string& user_id) {
  if (accounts_.role(user_id) == "bridge") throw forbidden("The import's account joins no room.");
  if (counseling_.is_exchange_room(room_id) && !is_staff(user_id))
    throw forbidden("The internal exchange is open to counselors and administrators only.");
  if (is_seeker(user_id)) {
    auto c = counseling_.consultation(room_id);
    if (!c || c->seeker != user_id) throw forbidden("Seekers can only join their own consultations.");
  }
}

bool Policy::may_reach(Rooms& rooms, const std::string& from, const std::string& to) {
  if (from == to) return true;
  // lotse-bridge's own account delivers the imported history's keys: it reaches the imported
  // accounts (they reach it, to check its device keys) and nobody else.
  if (accounts_.role(from) == "bridge") return accounts_.is_imported(to);
  if (accounts_.role(to) == "bridge") return accounts_.is_imported(from);
  if (is_staff(from) && is_staff(to)) return true;
  return rooms.share_room(from, to);
}

void Policy::check_profile_visible(Rooms& rooms, const std::string& viewer, const std::string& target) {
  if (is_seeker(viewer) && accounts_.role(target) == "counselor") return;
  if (!may_reach(rooms, viewer, target))
    throw forbidden(is_seeker(viewer) ? "Seekers can see the profiles of counselors and of the people in their consultations only."
                                      : "Only the profiles of staff and of people you share a room with are visible.");
}

bool Policy::directory_visible(const std::string& viewer, const std::string& target) {
  if (viewer == target) return true;
  if (is_seeker(viewer)) return is_staff(target) && accounts_.role(target) != "service";
  return true;
}

}  // namespace lotse::core
