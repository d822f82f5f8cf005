// Consultation room life cycle.
#include "server/core/consultation_rooms.hpp"

#include <chrono>

#include "server/core/errors.hpp"
#include "server/core/room_creation.hpp"

namespace lotse::core {
namespace {
std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

boost::json::object ConsultationRooms::room_request(const Consultation& c, const std::string& name) const {
  boost::json::object consultation_state{{"seeker", c.seeker},        {"counselor", c.counselor},
                                         {"agency", c.agency_id}, {"topic", c.topic_id},
                                         {"status", c.status},         {"history", boost::json::array{}}};
  // Only the counselor (50) and the service user (100) may invite, kick or change state; the
  // consultation record itself only the service user. History is visible from a member's invite
  // on ("invited"): the counselor, invited at opening, reads the enquiry written before accepting,
  // and clients share room keys with invited members (they do not for "joined"). A counselor who
  // takes over a consultation reads from the hand-over on. Not a direct chat: Element would offer
  // "Decline and block" against the service user.
  auto service_members = service_members_content();
  return boost::json::object{
      {"preset", "private_chat"},
      {"name", name},
      {"invite", boost::json::array{boost::json::value(c.seeker), boost::json::value(c.counselor)}},
      {"power_level_content_override",
       {{"users", {{service_user_, 100}, {c.counselor, 50}}},
        {"users_default", 0},
        {"events_default", 0},
        {"state_default", 50},
        {"invite", 50},
        {"kick", 50},
        {"ban", 50},
        {"redact", 50},
        {"events",
         {{"m.room.power_levels", 100}, {"m.room.encryption", 100}, {"m.room.history_visibility", 100},
          {"m.room.join_rules", 100}, {"de.lotse.consultation", 100}, {"m.room.tombstone", 100},
          {"io.element.functional_members", 100}, {"m.member_hints", 100}}}}},
      {"initial_state",
       {{{"type", "m.room.encryption"}, {"state_key", ""}, {"content", {{"algorithm", "m.megolm.v1.aes-sha2"}}}},
        {{"type", "m.room.history_visibility"}, {"state_key", ""}, {"content", {{"history_visibility", "invited"}}}},
        {{"type", "de.lotse.consultation"}, {"state_key", ""}, {"content", consultation_state}},
        // The service user is a member for its powers (hand-over, notices, closing) but not a
        // party: clients that read these (Element's functional members, MSC4171's member hints)
        // treat the consultation as a 1:1 room, and Element places 1:1 calls in it.
        {{"type", "io.element.functional_members"}, {"state_key", ""}, {"content", service_members}},
        {{"type", "m.member_hints"}, {"state_key", ""}, {"content", service_members}}}}};
}

boost::json::object ConsultationRooms::service_members_content() const {
  return {{"service_members", boost::json::array{boost::json::value(service_user_)}}};
}

ConsultationRooms::MemberHintsUpgrade ConsultationRooms::add_member_hints(store::WriteUnit& unit) {
  static constexpr const char* kTypes[] = {"io.element.functional_members", "m.member_hints"};
  MemberHintsUpgrade result;
  const auto expected = service_members_content();
  for (const auto& c : counseling_.all_consultations(std::nullopt)) {
    auto room = rooms_.room(c.room_id);
    if (!room || rooms_.membership(c.room_id, service_user_) != "join") continue;
    try {
      bool changed = false;
      // Only the service user may change them, as in rooms opened now (state_default is 50).
      auto pl = rooms_.state_content(c.room_id, "m.room.power_levels", "").value_or(boost::json::object{});
      if (!pl["events"].is_object()) pl["events"] = boost::json::object{};
      auto& events = pl["events"].as_object();
      bool pl_changed = false;
      for (const char* type : kTypes)
        if (!events.contains(type)) {
          events[type] = 100;
          pl_changed = true;
        }
      if (pl_changed) {
        rooms_.append(unit, *room, service_user_, "m.room.power_levels", pl, std::string());
        changed = true;
      }
      for (const char* type : kTypes) {
        auto current = rooms_.state_content(c.room_id, type, "");
        if (current && *current == expected) continue;
        rooms_.append(unit, *room, service_user_, type, expected, std::string());
        changed = true;
      }
      if (changed) ++result.rooms;
    } catch (const CoreError& e) {
      result.failed.push_back(c.room_id + ": " + e.what());
    }
  }
  return result;
}

std::string ConsultationRooms::open(store::WriteUnit& unit, const std::string& seeker, const CounselorProfile& counselor,
                                    const std::string& topic_id, const std::string& today) {
  Consultation c{"", seeker, counselor.user_id, counselor.agency_id, topic_id, "open", now_ms(), std::nullopt};
  std::string topic_name = topic_id;
  for (const auto& t : counseling_.topics())
    if (t.topic_id == topic_id) topic_name = t.name;
  auto seeker_record = accounts_.find_user(seeker);
  auto request = room_request(c, topic_name + " · " + (seeker_record && seeker_record->displayname ? *seeker_record->displayname : seeker));
  c.room_id = create_room(rooms_, unit, service_user_, request);
  auto room = rooms_.room(c.room_id);
  boost::json::object join{{"membership", "join"}};
  if (seeker_record && seeker_record->displayname) join["displayname"] = *seeker_record->displayname;
  rooms_.append(unit, *room, seeker, "m.room.member", join, seeker);
  counseling_.add_consultation(unit, c);
  if (auto absence = counselor.current_absence(today)) notice(unit, *room, *absence);
  return c.room_id;
}

void ConsultationRooms::notice(store::WriteUnit& unit, const RoomInfo& room, const std::string& text) {
  rooms_.append(unit, room, service_user_, "m.room.message", {{"msgtype", "m.notice"}, {"body", text}}, std::nullopt);
}

void ConsultationRooms::update_state(store::WriteUnit& unit, const RoomInfo& room, const Consultation& c,
                                     const boost::json::array& history) {
  rooms_.append(unit, room, service_user_, "de.lotse.consultation",
                {{"seeker", c.seeker}, {"counselor", c.counselor}, {"agency", c.agency_id}, {"topic", c.topic_id},
                 {"status", c.status}, {"history", history}},
                std::string());
}

void ConsultationRooms::transfer(store::WriteUnit& unit, const std::string& room_id, const CounselorProfile& to) {
  auto c = counseling_.consultation(room_id);
  auto room = rooms_.room(room_id);
  if (!c || !room) throw not_found("Unknown consultation " + room_id);
  if (c->counselor == to.user_id) throw invalid("M_INVALID_PARAM", "The consultation is already with " + to.user_id);
  std::string from = c->counselor;
  auto state = rooms_.state_content(room_id, "de.lotse.consultation", "");
  boost::json::array history;
  if (state && state->contains("history") && state->at("history").is_array()) history = state->at("history").as_array();
  history.push_back(boost::json::object{{"from", from}, {"to", to.user_id}, {"ts", now_ms()}});

  auto pl = rooms_.state_content(room_id, "m.room.power_levels", "").value_or(boost::json::object{});
  auto& users = pl["users"].as_object();
  users.erase(from);
  users[to.user_id] = 50;
  rooms_.append(unit, *room, service_user_, "m.room.power_levels", pl, std::string());
  rooms_.append(unit, *room, service_user_, "m.room.member", {{"membership", "invite"}}, to.user_id);
  if (rooms_.membership(room_id, from) != "leave")
    rooms_.append(unit, *room, service_user_, "m.room.member",
                  {{"membership", "leave"}, {"reason", "The consultation was handed over."}}, from);
  c->counselor = to.user_id;
  c->agency_id = to.agency_id;
  counseling_.update_consultation(unit, *c);
  update_state(unit, *room, *c, history);
  notice(unit, *room, "Your consultation has been handed over to " + (to.display_name.empty() ? to.user_id : to.display_name) +
                          ". They will answer you here.");
}

void ConsultationRooms::set_status(store::WriteUnit& unit, const std::string& room_id, const std::string& status) {
  auto c = counseling_.consultation(room_id);
  auto room = rooms_.room(room_id);
  if (!c || !room) throw not_found("Unknown consultation " + room_id);
  if (c->status == status) throw invalid("M_INVALID_PARAM", "The consultation is already " + status + ".");
  c->status = status;
  c->closed_ts = status == "closed" ? std::optional<std::int64_t>(now_ms()) : std::nullopt;
  counseling_.update_consultation(unit, *c);
  auto state = rooms_.state_content(room_id, "de.lotse.consultation", "");
  boost::json::array history;
  if (state && state->contains("history") && state->at("history").is_array()) history = state->at("history").as_array();
  update_state(unit, *room, *c, history);
}

}  // namespace lotse::core
