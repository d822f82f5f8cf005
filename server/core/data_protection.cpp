// Export, erasure and purge.
#include "server/core/data_protection.hpp"
#include "server/core/stored_json.hpp"

#include <set>

namespace lotse::core {

boost::json::object DataProtection::export_user(const std::string& user_id) {
  boost::json::object out;
  auto user = accounts_.find_user(user_id);
  if (!user) return out;
  {
    auto st = db_.conn().prepare("SELECT created_ts, email, imported FROM users WHERE user_id = ?");
    st.bind_all(user_id);
    bool found = st.step();
    auto email = found ? st.opt_text(1) : std::nullopt;
    out["account"] = {{"user_id", user_id},
                      {"role", user->role},
                      {"displayname", user->displayname ? boost::json::value(*user->displayname) : nullptr},
                      {"avatar_url", user->avatar_url ? boost::json::value(*user->avatar_url) : nullptr},
                      {"deactivated", user->deactivated},
                      {"created_ts", found ? st.int64(0) : 0},
                      {"email", email ? boost::json::value(*email) : nullptr},
                      {"imported_from_old_system", found && st.int64(2) != 0}};
    auto sf = db_.conn().prepare("SELECT kind FROM imported_second_factors WHERE user_id = ?");
    sf.bind_all(user_id);
    if (sf.step()) out["account"].as_object()["second_factor"] = sf.text(0);  // the kind, never the secret
  }
  boost::json::array devices;
  for (const auto& d : accounts_.devices(user_id))
    devices.push_back(boost::json::object{{"device_id", d.device_id},
                                          {"display_name", d.display_name ? boost::json::value(*d.display_name) : nullptr},
                                          {"last_seen_ts", d.last_seen_ts ? boost::json::value(*d.last_seen_ts) : nullptr},
                                          {"last_seen_ip", d.last_seen_ip ? boost::json::value(*d.last_seen_ip) : nullptr}});
  out["devices"] = std::move(devices);
  if (auto p = counseling_.profile(user_id)) out["counselor_profile"] = p->to_json();
  boost::json::array consultations;
  for (const auto& c : counseling_.consultations_of(user_id))
    consultations.push_back(boost::json::object{{"room_id", c.room_id}, {"seeker", c.seeker}, {"counselor", c.counselor},
                                                {"agency", c.agency_id}, {"topic", c.topic_id}, {"status", c.status},
                                                {"created_ts", c.created_ts}});
  out["consultations"] = std::move(consultations);
  boost::json::array memberships;
  for (const auto& r : rooms_.rooms_of(user_id, true))
    memberships.push_back(boost::json::object{{"room_id", r.room_id}, {"membership", r.membership}});
  out["rooms"] = std::move(memberships);
  boost::json::array events;
  {
    auto st = db_.conn().prepare(
        "SELECT event_id, room_id, type, origin_server_ts, json FROM events WHERE sender = ? ORDER BY stream_ordering");
    st.bind_all(user_id);
    while (st.step()) {
      // An unreadable row is exported without its content (and logged), never dropped silently.
      auto pdu = read_stored_object(st.text(4), "event", st.text(0)).value_or(boost::json::object{});
      boost::json::object item{{"event_id", st.text(0)}, {"room_id", st.text(1)}, {"type", st.text(2)},
                               {"origin_server_ts", st.int64(3)}};
      if (auto* c = pdu.if_contains("content")) item["content"] = *c;
      else item["content_unreadable"] = true;
      events.push_back(std::move(item));
    }
  }
  out["events_sent"] = std::move(events);
  boost::json::array account_data;
  {
    auto st = db_.conn().prepare("SELECT room_id, type, content FROM account_data WHERE user_id = ? ORDER BY room_id, type");
    st.bind_all(user_id);
    while (st.step())
      account_data.push_back(boost::json::object{{"room_id", st.text(0)}, {"type", st.text(1)},
                                                 {"content", read_stored_json(st.text(2), "account data", st.text(1))
                                                                 .value_or(boost::json::object{})}});
  }
  out["account_data"] = std::move(account_data);
  boost::json::array media;
  {
    auto st = db_.conn().prepare(
        "SELECT media_id, content_type, upload_name, size, created_ts FROM media WHERE user_id = ? ORDER BY created_ts");
    st.bind_all(user_id);
    while (st.step())
      media.push_back(boost::json::object{{"media_id", st.text(0)}, {"content_type", st.opt_text(1).value_or("")},
                                          {"upload_name", st.opt_text(2).value_or("")}, {"size", st.int64(3)},
                                          {"created_ts", st.int64(4)}});
  }
  out["media"] = std::move(media);
  {
    // Where notifications go: the push service each browser subscribed at (never the keys).
    boost::json::array pushers;
    auto st = db_.conn().prepare(
        "SELECT app_id, device_display_name, lang, json_extract(data, '$.endpoint'), created_ts FROM pushers WHERE user_id = ?");
    st.bind_all(user_id);
    while (st.step())
      pushers.push_back({{"app_id", st.text(0)}, {"device_display_name", st.text(1)}, {"lang", st.text(2)},
                         {"endpoint", st.is_null(3) ? std::string() : st.text(3)}, {"created_ts", st.int64(4)}});
    out["pushers"] = std::move(pushers);
  }
  out["device_keys_stored"] = static_cast<std::int64_t>(keys_.all_device_keys(user_id).size());
  return out;
}

void DataProtection::erase_user(store::WriteUnit& unit, const std::string& user_id) {
  // Every room the user sent something in.
  std::vector<std::pair<std::string, std::string>> sent;  // (room, event)
  {
    auto st = db_.conn().prepare(
        "SELECT room_id, event_id FROM events WHERE sender = ? AND state_key IS NULL AND redacted_by IS NULL "
        "AND type NOT IN ('m.room.redaction') ORDER BY stream_ordering");
    st.bind_all(user_id);
    while (st.step()) sent.emplace_back(st.text(0), st.text(1));
  }
  for (const auto& [room_id, event_id] : sent) {
    auto room = rooms_.room(room_id);
    if (!room) continue;
    std::string redactor;
    if (rooms_.membership(room_id, user_id) == "join") redactor = user_id;
    else if (rooms_.membership(room_id, service_user_) == "join") redactor = service_user_;
    else continue;
    try {
      auto redaction = rooms_.append(unit, *room, redactor, "m.room.redaction",
                                     {{"redacts", event_id}, {"reason", "The author deleted their account."}},
                                     std::nullopt);
      rooms_.apply_redaction(unit, *room, redaction, event_id);
    } catch (const std::exception&) {
      // Not allowed in this room (power levels): the event stays, ciphertext only.
    }
  }
  for (const auto& r : rooms_.rooms_of(user_id, true)) {
    if (r.membership != "join" && r.membership != "invite") continue;
    if (auto room = rooms_.room(r.room_id))
      rooms_.append(unit, *room, user_id, "m.room.member", {{"membership", "leave"}}, user_id);
  }
  media_.remove_all_of_user(unit, user_id);
  for (auto* sql : {"DELETE FROM account_data WHERE user_id = ?", "DELETE FROM filters WHERE user_id = ?",
                    "DELETE FROM receipts WHERE user_id = ?", "DELETE FROM cross_signing_keys WHERE user_id = ?",
                    "DELETE FROM room_key_backup_keys WHERE user_id = ?",
                    "DELETE FROM room_key_backup_versions WHERE user_id = ?",
                    "DELETE FROM counselor_profiles WHERE user_id = ?",
                    "DELETE FROM imported_second_factors WHERE user_id = ?",
                    "DELETE FROM pushers WHERE user_id = ?", "DELETE FROM event_push_actions WHERE user_id = ?",
                    "DELETE FROM email_digests WHERE user_id = ?",
                    "UPDATE users SET email = NULL WHERE user_id = ?"}) {
    auto st = db_.conn().prepare(sql);
    st.bind_all(user_id);
    st.run();
  }
  accounts_.deactivate(unit, user_id);
}

void DataProtection::purge_room(store::WriteUnit& unit, const std::string& room_id) {
  for (auto* sql : {"DELETE FROM transactions WHERE event_id IN (SELECT event_id FROM events WHERE room_id = ?1)",
                    "DELETE FROM events WHERE room_id = ?1", "DELETE FROM current_state WHERE room_id = ?1",
                    "DELETE FROM memberships WHERE room_id = ?1", "DELETE FROM receipts WHERE room_id = ?1",
                    "DELETE FROM event_push_actions WHERE room_id = ?1",
                    "DELETE FROM account_data WHERE room_id = ?1", "DELETE FROM consultations WHERE room_id = ?1",
                    "DELETE FROM rooms WHERE room_id = ?1"}) {
    auto st = db_.conn().prepare(sql);
    st.bind_all(room_id);
    st.run();
  }
  rooms_.forget_cached_state(unit, room_id);
}

}  // namespace lotse::core
