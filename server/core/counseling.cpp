// Counseling domain storage.
#include "server/core/counseling.hpp"
#include "server/core/stored_json.hpp"

#include <algorithm>
#include <chrono>

namespace lotse::core {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<std::string> json_list(const std::string& text) {
  std::vector<std::string> out;
  auto v = read_stored_json(text, "list", "");
  if (!v || !v->is_array()) return out;
  for (const auto& e : v->as_array())
    if (e.is_string()) out.emplace_back(e.get_string());
  return out;
}

std::string list_json(const std::vector<std::string>& v) {
  boost::json::array a;
  for (const auto& s : v) a.push_back(boost::json::value(s));
  return boost::json::serialize(a);
}

boost::json::array to_array(const std::vector<std::string>& v) {
  boost::json::array a;
  for (const auto& s : v) a.push_back(boost::json::value(s));
  return a;
}

Consultation read_consultation(const store::Statement& st) {
  Consultation c{st.text(0), st.text(1), st.text(2), st.opt_text(3).value_or(""), st.opt_text(4).value_or(""),
                 st.text(5), st.int64(6), std::nullopt};
  if (!st.is_null(7)) c.closed_ts = st.int64(7);
  return c;
}

constexpr const char* kConsultationColumns =
    "SELECT room_id, seeker, counselor, agency_id, topic_id, status, created_ts, closed_ts FROM consultations ";

}  // namespace

std::optional<std::string> CounselorProfile::current_absence(const std::string& today) const {
  if (absence_message.empty()) return std::nullopt;
  if (!absence_from.empty() && today < absence_from) return std::nullopt;
  if (!absence_until.empty() && today > absence_until) return std::nullopt;
  return absence_message;
}

boost::json::object CounselorProfile::to_json() const {
  boost::json::object o{{"user_id", user_id},
                        {"display_name", display_name},
                        {"agency", agency_id},
                        {"languages", to_array(languages)},
                        {"topics", to_array(topics)},
                        {"postal_codes", to_array(postal_codes)}};
  if (!gender.empty()) o["gender"] = gender;
  if (!absence_message.empty())
    o["absence"] = {{"message", absence_message}, {"from", absence_from}, {"until", absence_until}};
  return o;
}

void Counseling::add_agency(store::WriteUnit&, const Agency& a) {
  auto st = db_.conn().prepare("INSERT INTO agencies (agency_id, name, city, created_ts) VALUES (?, ?, ?, ?)");
  st.bind_all(a.agency_id, a.name, a.city, now_ms());
  st.run();
}

std::vector<Agency> Counseling::agencies() {
  std::vector<Agency> out;
  auto st = db_.conn().prepare("SELECT agency_id, name, coalesce(city, '') FROM agencies ORDER BY name");
  while (st.step()) out.push_back(Agency{st.text(0), st.text(1), st.text(2)});
  return out;
}

bool Counseling::agency_exists(const std::string& id) {
  auto st = db_.conn().prepare("SELECT 1 FROM agencies WHERE agency_id = ?");
  st.bind_all(id);
  return st.step();
}

void Counseling::add_topic(store::WriteUnit&, const Topic& t) {
  auto st = db_.conn().prepare("INSERT INTO topics (topic_id, name, names) VALUES (?, ?, ?)");
  st.bind_all(t.topic_id, t.name, boost::json::serialize(t.names));
  st.run();
}

void Counseling::update_topic(store::WriteUnit&, const Topic& t) {
  auto st = db_.conn().prepare("UPDATE topics SET name = ?, names = ? WHERE topic_id = ?");
  st.bind_all(t.name, boost::json::serialize(t.names), t.topic_id);
  st.run();
}

namespace {
Topic topic_row(store::Statement& st) {
  Topic t{st.text(0), st.text(1), {}};
  if (auto names = read_stored_object(st.text(2), "topic names", t.topic_id)) t.names = std::move(*names);
  return t;
}
}  // namespace

std::vector<Topic> Counseling::topics() {
  std::vector<Topic> out;
  auto st = db_.conn().prepare("SELECT topic_id, name, names FROM topics ORDER BY topic_id");
  while (st.step()) out.push_back(topic_row(st));
  return out;
}

std::optional<Topic> Counseling::topic(const std::string& id) {
  auto st = db_.conn().prepare("SELECT topic_id, name, names FROM topics WHERE topic_id = ?");
  st.bind_all(id);
  if (!st.step()) return std::nullopt;
  return topic_row(st);
}

bool Counseling::topic_exists(const std::string& id) {
  auto st = db_.conn().prepare("SELECT 1 FROM topics WHERE topic_id = ?");
  st.bind_all(id);
  return st.step();
}

void Counseling::save_profile(store::WriteUnit&, const CounselorProfile& p) {
  auto st = db_.conn().prepare(
      "INSERT INTO counselor_profiles (user_id, agency_id, languages, topics, postal_codes, gender, absence_message, "
      "absence_from, absence_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (user_id) DO UPDATE SET "
      "agency_id = ?2, languages = ?3, topics = ?4, postal_codes = ?5, gender = ?6, absence_message = ?7, "
      "absence_from = ?8, absence_until = ?9");
  st.bind_all(p.user_id, p.agency_id, list_json(p.languages), list_json(p.topics), list_json(p.postal_codes), p.gender,
              p.absence_message, p.absence_from, p.absence_until);
  st.run();
}

std::optional<CounselorProfile> Counseling::profile(const std::string& user_id) {
  auto st = db_.conn().prepare(
      "SELECT p.user_id, coalesce(u.displayname, ''), coalesce(p.agency_id, ''), p.languages, p.topics, p.postal_codes, "
      "coalesce(p.gender, ''), coalesce(p.absence_message, ''), coalesce(p.absence_from, ''), "
      "coalesce(p.absence_until, ''), u.deactivated FROM counselor_profiles p JOIN users u ON u.user_id = p.user_id "
      "WHERE p.user_id = ?");
  st.bind_all(user_id);
  if (!st.step()) return std::nullopt;
  return CounselorProfile{st.text(0),           st.text(1), st.text(2), json_list(st.text(3)), json_list(st.text(4)),
                          json_list(st.text(5)), st.text(6), st.text(7), st.text(8),           st.text(9),
                          st.int64(10) != 0};
}

std::vector<CounselorProfile> Counseling::counselors() {
  std::vector<std::string> ids;
  auto st = db_.conn().prepare("SELECT user_id FROM counselor_profiles ORDER BY user_id");
  while (st.step()) ids.push_back(st.text(0));
  std::vector<CounselorProfile> out;
  for (const auto& id : ids)
    if (auto p = profile(id)) out.push_back(std::move(*p));
  return out;
}

std::vector<CounselorProfile> Counseling::directory(const std::optional<std::string>& language,
                                                    const std::optional<std::string>& topic,
                                                    const std::optional<std::string>& postal_code) {
  std::vector<CounselorProfile> out;
  auto has = [](const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  for (auto& p : counselors()) {
    if (p.deactivated) continue;
    if (language && !language->empty() && !has(p.languages, *language)) continue;
    if (topic && !topic->empty() && !has(p.topics, *topic)) continue;
    if (postal_code && !postal_code->empty() &&
        std::none_of(p.postal_codes.begin(), p.postal_codes.end(),
                     [&](const std::string& prefix) { return postal_code->rfind(prefix, 0) == 0; }))
      continue;
    out.push_back(std::move(p));
  }
  return out;
}

void Counseling::add_consultation(store::WriteUnit&, const Consultation& c) {
  auto st = db_.conn().prepare(
      "INSERT INTO consultations (room_id, seeker, counselor, agency_id, topic_id, status, created_ts) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)");
  st.bind_all(c.room_id, c.seeker, c.counselor, c.agency_id, c.topic_id, c.status, c.created_ts);
  st.run();
}

std::optional<Consultation> Counseling::consultation(const std::string& room_id) {
  auto st = db_.conn().prepare(std::string(kConsultationColumns) + "WHERE room_id = ?");
  st.bind_all(room_id);
  if (!st.step()) return std::nullopt;
  return read_consultation(st);
}

std::vector<Consultation> Counseling::consultations_of(const std::string& user_id) {
  std::vector<Consultation> out;
  auto st = db_.conn().prepare(std::string(kConsultationColumns) +
                               "WHERE seeker = ?1 OR counselor = ?1 ORDER BY created_ts DESC");
  st.bind_all(user_id);
  while (st.step()) out.push_back(read_consultation(st));
  return out;
}

std::vector<Consultation> Counseling::all_consultations(const std::optional<std::string>& status) {
  std::vector<Consultation> out;
  auto st = db_.conn().prepare(std::string(kConsultationColumns) + "WHERE ?1 IS NULL OR status = ?1 ORDER BY created_ts");
  st.bind_all(status);
  while (st.step()) out.push_back(read_consultation(st));
  return out;
}

std::int64_t Counseling::open_consultations_of_seeker(const std::string& seeker) {
  auto st = db_.conn().prepare("SELECT count(*) FROM consultations WHERE seeker = ? AND status = 'open'");
  st.bind_all(seeker);
  return st.step() ? st.int64(0) : 0;
}

void Counseling::update_consultation(store::WriteUnit&, const Consultation& c) {
  auto st = db_.conn().prepare(
      "UPDATE consultations SET counselor = ?, agency_id = ?, topic_id = ?, status = ?, closed_ts = ? WHERE room_id = ?");
  st.bind_all(c.counselor, c.agency_id, c.topic_id, c.status, c.closed_ts, c.room_id);
  st.run();
}

void Counseling::delete_consultation(store::WriteUnit&, const std::string& room_id) {
  auto st = db_.conn().prepare("DELETE FROM consultations WHERE room_id = ?");
  st.bind_all(room_id);
  st.run();
}

std::int64_t Counseling::last_activity(const std::string& room_id) {
  auto st = db_.conn().prepare(
      "SELECT origin_server_ts FROM events WHERE room_id = ? ORDER BY stream_ordering DESC LIMIT 1");
  st.bind_all(room_id);
  return st.step() ? st.int64(0) : 0;
}

void Counseling::add_exchange_room(store::WriteUnit&, const std::string& room_id, const std::string& kind) {
  auto st = db_.conn().prepare("INSERT INTO exchange_rooms (room_id, kind) VALUES (?, ?)");
  st.bind_all(room_id, kind);
  st.run();
}

std::optional<std::string> Counseling::exchange_space() {
  auto st = db_.conn().prepare("SELECT room_id FROM exchange_rooms WHERE kind = 'space' LIMIT 1");
  if (!st.step()) return std::nullopt;
  return st.text(0);
}

bool Counseling::is_exchange_room(const std::string& room_id) {
  auto st = db_.conn().prepare("SELECT 1 FROM exchange_rooms WHERE room_id = ?");
  st.bind_all(room_id);
  return st.step();
}

std::vector<std::string> Counseling::exchange_rooms() {
  std::vector<std::string> out;
  auto st = db_.conn().prepare("SELECT room_id FROM exchange_rooms WHERE kind = 'room' ORDER BY room_id");
  while (st.step()) out.push_back(st.text(0));
  return out;
}

void Counseling::audit(store::WriteUnit&, const std::string& actor, const std::string& action,
                       const std::string& target, const boost::json::object& details) {
  auto st = db_.conn().prepare("INSERT INTO audit_log (ts, actor, action, target, details) VALUES (?, ?, ?, ?, ?)");
  st.bind_all(now_ms(), actor, action, target, boost::json::serialize(details));
  st.run();
}

boost::json::array Counseling::audit_entries(std::int64_t limit) {
  boost::json::array out;
  auto st = db_.conn().prepare(
      "SELECT id, ts, actor, action, coalesce(target, ''), details FROM audit_log ORDER BY id DESC LIMIT ?");
  st.bind_all(limit);
  while (st.step())
    out.push_back(boost::json::object{{"id", st.int64(0)},
                                      {"ts", st.int64(1)},
                                      {"actor", st.text(2)},
                                      {"action", st.text(3)},
                                      {"target", st.text(4)},
                                      {"details", read_stored_json(st.text(5), "audit details", std::to_string(st.int64(0)))
                                                      .value_or(boost::json::object{})}});
  return out;
}

}  // namespace lotse::core
