// Building the plan from the export: accounts from Keycloak joined with userservice, agencies and
// topics, then every room with its members and messages, sorted by time. Every decision the README
// leaves to the importer is written down where it is taken.
#include "bridge/migration_plan.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "bridge/decoders.hpp"
#include "bridge/plan_builder.hpp"
#include "e2ee/safe_json.hpp"

namespace lotse::bridge {
namespace plan_detail {
namespace {

std::string lotse_status(std::int64_t code) { return code == 2 || code == 1 ? "open" : "closed"; }
std::string old_status_name(std::int64_t code) {
  static const char* names[] = {"INITIAL", "NEW", "IN_PROGRESS", "DONE", "IN_ARCHIVE"};
  return code >= 0 && code <= 4 ? names[code] : "UNKNOWN_" + std::to_string(code);
}

}  // namespace

void PlanBuilder::index() {
  dummy_suffix = ex.properties.count("identity.email-dummy-suffix") ? ex.properties.at("identity.email-dummy-suffix") : "";
  plan.system_user_rc = ex.properties.count("rocket.systemuser.id") ? ex.properties.at("rocket.systemuser.id") : "";
  technical_username = ex.properties.count("rocket.technical.username") ? ex.properties.at("rocket.technical.username") : "";
  // Ids are unique in a sound export; a document whose id was seen before is reported and left out,
  // since everything the import does is keyed by these ids.
  for (const auto& r : ex.rooms)
    if (!room_by_id.emplace(str(r, "_id"), &r).second) problem("duplicate-id", str(r, "_id"), "a second room with this id; left out");
  for (const auto& u : ex.uploads)
    if (!upload_by_id.emplace(str(u, "_id"), &u).second) problem("duplicate-id", str(u, "_id"), "a second upload with this id; left out");
  for (const auto& s : ex.subscriptions) subs_by_room[str(s, "rid")].push_back(&s);
  std::set<std::string> message_ids;
  for (const auto& m : ex.messages) {
    if (!message_ids.insert(str(m, "_id")).second) {
      problem("duplicate-id", str(m, "_id"), "a second message with this id; left out");
      continue;
    }
    msgs_by_room[str(m, "rid")].push_back(&m);
  }
}

void PlanBuilder::accounts() {
  std::map<std::string, SqlRow> users, consultants;
  for (auto& r : ex.table("user")) users[get(r, "user_id")] = r;
  for (auto& r : ex.table("consultant")) consultants[get(r, "consultant_id")] = r;
  std::map<std::string, std::vector<std::string>> languages;
  for (auto& r : ex.table("language")) languages[get(r, "consultant_id")].push_back(get(r, "language_code"));
  std::map<std::string, std::vector<std::int64_t>> agencies_of;
  for (auto& r : ex.table("consultant_agency"))
    if (!has(r, "delete_date")) agencies_of[get(r, "consultant_id")].push_back(to_int(get(r, "agency_id")));

  std::map<std::string, std::string> localparts;  // localpart -> keycloak id
  std::set<std::string> seen_kc;
  for (const auto& v : ex.keycloak_users) {
    if (!v.is_object()) continue;
    const auto& k = v.as_object();
    std::string id = str(k, "id");
    std::set<std::string> roles;
    if (auto* rr = k.if_contains("realmRoles"); rr && rr->is_array())
      for (const auto& r : rr->as_array())
        if (r.is_string()) roles.insert(std::string(r.get_string()));
    if (roles.count("technical")) {
      count("accounts.technical");
      continue;
    }
    seen_kc.insert(id);
    PlannedAccount a;
    a.keycloak_id = id;
    const SqlRow* row = nullptr;
    if (consultants.count(id)) {
      row = &consultants[id];
      a.kind = "counselor";
      a.display_name = get(*row, "first_name") + (has(*row, "last_name") ? " " + get(*row, "last_name") : "");
      // The language of the counselor's own profile is one she counsels in, also where the
      // language table has no row for it.
      if (has(*row, "language_code")) a.languages.push_back(get(*row, "language_code"));
      for (const auto& l : languages[id])
        if (std::find(a.languages.begin(), a.languages.end(), l) == a.languages.end()) a.languages.push_back(l);
      a.agency_ids = agencies_of[id];
      if (a.agency_ids.size() > 1)
        problem("counselor-several-agencies", id,
                "works for " + std::to_string(a.agency_ids.size()) + " agencies; Lotse keeps one per counselor (agency-" +
                    std::to_string(a.agency_ids.front()) + "), her topics and postal codes cover all of them");
      if (a.agency_ids.empty()) problem("counselor-without-agency", id, "works for no agency; imported without one");
      if (get(*row, "is_absent") == "1") a.absence_message = get(*row, "absence_message");
      for (const auto& r : roles)
        if (r.find("consultant") != std::string::npos) a.roles.push_back(r);
    } else if (users.count(id)) {
      row = &users[id];
      a.kind = roles.count("anonymous") ? "anonymous" : "seeker";
    } else {
      problem("account-without-profile", id, "Keycloak account with no userservice row; not imported");
      continue;
    }
    auto stored = get(*row, "username");
    if (stored.empty()) stored = str(k, "username");
    auto name = decode_username(stored);
    if (!name) {
      problem("username-undecodable", id, "username '" + stored + "' does not decode; not imported");
      continue;
    }
    a.name = *name;
    if (a.display_name.empty() || a.display_name == " ") a.display_name = a.name;
    a.localpart = localpart_for(a.name);
    if (a.localpart.size() > 200) {
      problem("username-too-long", id, "username longer than Lotse allows; not imported");
      continue;
    }
    if (localparts.count(a.localpart)) {
      std::string base = a.localpart;
      int n = 2;
      while (localparts.count(base + "." + std::to_string(n))) ++n;
      a.localpart = base + "." + std::to_string(n);
      problem("duplicate-username", id,
              "'" + a.name + "' maps to the same Lotse name as " + localparts[base] + "; imported as " + a.localpart +
                  " (tell the person their new login name)");
    }
    localparts[a.localpart] = id;
    a.rc_user_id = get(*row, "rc_user_id");
    a.email = get(*row, "email");
    if (a.email.empty()) a.email = str(k, "email");
    if (!dummy_suffix.empty() && a.email.ends_with(dummy_suffix)) a.email.clear();
    a.language = get(*row, "language_code");
    bool enabled = !k.contains("enabled") || (k.at("enabled").is_bool() && k.at("enabled").get_bool());
    a.deactivated = !enabled || has(*row, "delete_date");
    if (auto* ts = k.if_contains("createdTimestamp"); ts && ts->is_int64()) a.created_ms = ts->get_int64();
    else a.created_ms = parse_sql_datetime(get(*row, "create_date")).value_or(0);
    credentials(k, a);
    count("accounts." + a.kind);
    if (a.deactivated) count("accounts.deactivated");
    plan.accounts.push_back(std::move(a));
  }
  for (const auto& [id, r] : users)
    if (!seen_kc.count(id)) problem("profile-without-account", id, "userservice seeker without Keycloak account; not imported");
  for (const auto& [id, r] : consultants)
    if (!seen_kc.count(id)) problem("profile-without-account", id, "userservice counselor without Keycloak account; not imported");
  for (std::size_t i = 0; i < plan.accounts.size(); ++i) {
    plan.by_kc_[plan.accounts[i].keycloak_id] = i;
    if (!plan.accounts[i].rc_user_id.empty()) plan.by_rc_[plan.accounts[i].rc_user_id] = i;
  }
  // Every Rocket.Chat account that is no person's: the system user, the technical user, bots, admins.
  for (const auto& u : ex.rc_users) {
    auto id = str(u, "_id");
    if (!plan.by_rc_.count(id)) technical_rc.insert(id);
    if (str(u, "type") == "bot") bots.insert(id);
  }
}

void PlanBuilder::credentials(const object& k, PlannedAccount& a) {
  auto* creds = k.if_contains("credentials");
  if (!creds || !creds->is_array()) return;
  for (const auto& c : creds->as_array()) {
    if (!c.is_object()) continue;
    auto type = str(c.as_object(), "type");
    auto secret = parse_object(str(c.as_object(), "secretData"));
    auto data = parse_object(str(c.as_object(), "credentialData"));
    if (!secret || !data) {
      problem("credential-unreadable", a.keycloak_id, "a " + type + " credential could not be read");
      continue;
    }
    if (type == "password") {
      auto alg = str(*data, "algorithm");
      if (alg == "bcrypt") {
        a.password = object{{"algorithm", "bcrypt"}, {"hash", str(*secret, "value")}};
      } else if (alg == "pbkdf2-sha256") {
        auto* it = data->if_contains("hashIterations");
        a.password = object{{"algorithm", "pbkdf2-sha256"},
                            {"iterations", it && it->is_int64() ? it->get_int64() : 27500},
                            {"salt", str(*secret, "salt")},
                            {"hash", str(*secret, "value")}};
      } else {
        problem("password-algorithm-unknown", a.keycloak_id, "password hashed with '" + alg + "': the person must reset it");
      }
    } else if (type == "otp") {
      object t{{"secret", str(*secret, "value")}};
      for (const char* f : {"subType", "algorithm"}) t[f] = str(*data, f);
      for (const char* f : {"digits", "period"})
        if (auto* v = data->if_contains(f); v && v->is_int64()) t[f] = v->get_int64();
      a.totp = t;
      count("accounts.totp");
    }
  }
  if (a.password.empty() && !a.deactivated) problem("password-missing", a.keycloak_id, "no password credential: the person must get a new one");
}

void PlanBuilder::agencies_and_topics() {
  std::map<std::int64_t, std::vector<std::pair<std::string, std::string>>> ranges;
  for (auto& r : ex.table("agency_postcode_range"))
    ranges[to_int(get(r, "agency_id"))].push_back({get(r, "postcode_from"), get(r, "postcode_to")});
  for (auto& r : ex.table("agency")) {
    PlannedAgency a;
    a.id = to_int(get(r, "id"));
    a.agency_id = "agency-" + std::to_string(a.id);
    a.name = get(r, "name");
    a.city = get(r, "city");
    a.description = get(r, "description");
    a.consulting_type = to_int(get(r, "consulting_type"));
    a.postcode_ranges = ranges[a.id];
    for (const auto& [from, to] : a.postcode_ranges) {
      auto p = postcode_prefixes(from, to);
      if (p.empty()) problem("postcode-range-unreadable", std::to_string(a.id), "postal-code range " + from + "-" + to + " is not two five-digit codes");
      a.postal_prefixes.insert(a.postal_prefixes.end(), p.begin(), p.end());
    }
    a.offline = get(r, "is_offline") == "1";
    a.team = get(r, "is_team_agency") == "1";
    a.deleted = has(r, "delete_date");
    if (get(r, "is_external") == "1") a.external_url = get(r, "url");
    a.created_ms = parse_sql_datetime(get(r, "create_date")).value_or(0);
    count("agencies");
    plan.agencies.push_back(std::move(a));
  }
  for (const auto& ct : ex.consulting_types) {
    PlannedTopic t;
    auto* id = ct.if_contains("_id");
    t.id = id && id->is_int64() ? id->get_int64() : 0;
    t.topic_id = localpart_for(str(ct, "slug"));
    if (t.topic_id.empty()) t.topic_id = "topic-" + std::to_string(t.id);
    if (auto* titles = obj(ct, "titles")) t.name = str(*titles, "default");
    if (t.name.empty()) t.name = str(ct, "description");
    if (t.name.empty()) t.name = t.topic_id;
    count("topics");
    plan.topics.push_back(std::move(t));
  }
}

std::vector<std::string> PlanBuilder::people_in(const std::string& rid, PlannedRoom& room) {
  std::vector<std::string> out;
  for (const auto* s : subs_by_room[rid]) {
    const auto* u = obj(*s, "u");
    auto id = u ? str(*u, "_id") : "";
    if (technical_rc.count(id)) continue;
    if (!plan.by_rc_.count(id)) {
      problem("member-unknown", rid, "member " + id + " has no account; left out");
      continue;
    }
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
    if (auto ls = extended_json_date(s->if_contains("ls"))) room.last_seen[id] = *ls;
  }
  return out;
}

PlannedRoom PlanBuilder::base_room(const object& r, const std::string& kind) {
  PlannedRoom room;
  room.rc_id = str(r, "_id");
  room.kind = kind;
  room.name = str(r, "fname").empty() ? str(r, "name") : str(r, "fname");
  room.topic = str(r, "topic");
  room.created_ms = extended_json_date(r.if_contains("ts")).value_or(0);
  room.read_only = r.contains("ro") && r.at("ro").is_bool() && r.at("ro").get_bool();
  room.e2e = r.contains("encrypted") && r.at("encrypted").is_bool() && r.at("encrypted").get_bool();
  room.member_rc_ids = people_in(room.rc_id, room);
  referenced_rooms.insert(room.rc_id);
  return room;
}

void PlanBuilder::rooms() {
  std::map<std::int64_t, std::string> topic_by_type;
  for (const auto& t : plan.topics) topic_by_type[t.id] = t.topic_id;
  std::map<std::string, std::string> reassigned_from;  // session id -> previous counselor ids, from events
  for (auto& s : ex.table("session")) {
    auto sid = to_int(get(s, "id"));
    auto code = to_int(get(s, "status"));
    auto status = old_status_name(code);
    count("sessions." + status);
    auto rid = get(s, "rc_group_id");
    auto seeker = plan.account_by_kc(get(s, "user_id"));
    if (rid.empty()) {
      count("sessions.without_room");
      continue;  // registered, never wrote: the account is imported, there is no conversation
    }
    if (!room_by_id.count(rid)) {
      problem("room-missing", std::to_string(sid), "consultation room " + rid + " is not in the export; nothing to import");
      continue;
    }
    if (!seeker) {
      problem("session-seeker-unknown", std::to_string(sid), "the seeker of this consultation was not imported");
      continue;
    }
    auto room = base_room(*room_by_id[rid], "consultation");
    room.session_id = sid;
    room.seeker_kc = seeker->keycloak_id;
    room.agency = to_int(get(s, "agency_id"));
    room.consulting_type = to_int(get(s, "consulting_type"));
    room.old_status = status;
    room.status = lotse_status(code);
    if (room.status == "closed") room.closed_ms = parse_sql_datetime(get(s, "update_date"));
    auto counselor = plan.account_by_kc(get(s, "consultant_id"));
    if (counselor) {
      room.counselor_kc = counselor->keycloak_id;
    } else {
      // An enquiry no counselor accepted: Lotse's consultation has one counselor, so the room is
      // imported with the agency's counselors as members and no consultation record.
      room.kind = "group";
      problem("enquiry-not-accepted", std::to_string(sid),
              "no counselor accepted this enquiry; imported as a room of the seeker with the counselors who could see it");
    }
    if (!room.seeker_kc.empty() && seeker && !seeker->rc_user_id.empty() &&
        std::find(room.member_rc_ids.begin(), room.member_rc_ids.end(), seeker->rc_user_id) == room.member_rc_ids.end())
      room.member_rc_ids.push_back(seeker->rc_user_id);
    messages(room);
    if (room.kind == "consultation") count("rooms.consultation." + room.status);
    else count("rooms.unaccepted_enquiry");
    plan.rooms.push_back(std::move(room));

    auto fid = get(s, "rc_feedback_group_id");
    if (!fid.empty()) {
      if (!room_by_id.count(fid)) {
        problem("room-missing", std::to_string(sid), "feedback room " + fid + " is not in the export");
      } else {
        auto fb = base_room(*room_by_id[fid], "counselors");
        fb.session_id = sid;
        fb.name = "Feedback · " + plan.rooms.back().name;
        messages(fb);
        count("rooms.feedback");
        plan.rooms.push_back(std::move(fb));
      }
    }
  }
  for (auto& c : ex.table("chat")) {
    auto rid = get(c, "rc_group_id");
    if (rid.empty()) continue;
    if (!room_by_id.count(rid)) {
      problem("room-missing", "chat " + get(c, "id"), "group chat room " + rid + " is not in the export");
      continue;
    }
    auto room = base_room(*room_by_id[rid], "group");
    room.name = get(c, "topic");
    room.topic = get(c, "hint_message");
    messages(room);
    count("rooms.group_chat");
    plan.rooms.push_back(std::move(room));
  }
  for (const auto& r : ex.rooms) {
    auto id = str(r, "_id");
    if (referenced_rooms.count(id)) continue;
    const auto* cf = obj(r, "customFields");
    if (cf && str(*cf, "roomType") == "exchange") {
      auto room = base_room(r, "exchange");
      if (room.topic.empty()) room.topic = str(r, "description");
      else if (!str(r, "description").empty()) room.topic += " — " + str(r, "description");
      messages(room);
      count("rooms.exchange");
      plan.rooms.push_back(std::move(room));
    } else {
      problem("orphan-room", id,
              "room '" + str(r, "name") + "' belongs to no consultation, chat or exchange (its consultation was deleted); not imported, " +
                  std::to_string(msgs_by_room[id].size()) + " messages left behind");
    }
  }
  for (const auto& [rid, msgs] : msgs_by_room)
    if (!room_by_id.count(rid)) problem("messages-without-room", rid, std::to_string(msgs.size()) + " messages of an unknown room");
}

}  // namespace plan_detail

using boost::json::object;

Secrets read_secrets(const std::string& path) {
  Secrets s;
  if (path.empty()) return s;
  auto t = toml::parse_file(path);
  s.master_key = t["message_encryption"]["master_key"].value_or(std::string());
  s.app_key = t["message_encryption"]["app_key"].value_or(std::string());
  if (!s.present()) throw std::runtime_error(path + ": [message_encryption] master_key and app_key are required");
  return s;
}

const PlannedAccount* Plan::account_by_rc(const std::string& rc_id) const {
  auto it = by_rc_.find(rc_id);
  return it == by_rc_.end() ? nullptr : &accounts[it->second];
}
const PlannedAccount* Plan::account_by_kc(const std::string& kc_id) const {
  auto it = by_kc_.find(kc_id);
  return it == by_kc_.end() ? nullptr : &accounts[it->second];
}

Plan make_plan(const OldExport& ex, const Secrets& secrets) {
  plan_detail::PlanBuilder b{ex, secrets};
  b.plan.problems = ex.read_problems;
  b.index();
  b.accounts();
  b.agencies_and_topics();
  b.rooms();
  for (const auto& r : b.plan.rooms) {
    b.count("messages", static_cast<std::int64_t>(r.messages.size()));
    for (const auto& m : r.messages)
      if (m.attachment && !m.attachment->path.empty()) {
        b.count("files");
        std::error_code ec;
        b.count("files.bytes", static_cast<std::int64_t>(std::filesystem::file_size(m.attachment->path, ec)));
      }
  }
  b.count("rooms", static_cast<std::int64_t>(b.plan.rooms.size()));
  return std::move(b.plan);
}

std::string report_text(const Plan& plan) {
  std::ostringstream out;
  out << "What the import creates\n";
  for (const auto& [k, v] : plan.counts) out << "  " << k << ": " << v << "\n";
  out << "\nProblems (" << plan.problems.size() << ")\n";
  std::map<std::string, std::int64_t> by_kind;
  for (const auto& p : plan.problems) by_kind[p.kind]++;
  for (const auto& [k, v] : by_kind) out << "  " << k << ": " << v << "\n";
  out << "\n";
  for (const auto& p : plan.problems) out << "  [" << p.kind << "] " << p.old_id << ": " << p.detail << "\n";
  return out.str();
}

boost::json::object report_json(const Plan& plan) {
  object counts;
  for (const auto& [k, v] : plan.counts) counts[k] = v;
  boost::json::array problems;
  for (const auto& p : plan.problems) problems.push_back(object{{"kind", p.kind}, {"old_id", p.old_id}, {"detail", p.detail}});
  return object{{"counts", counts}, {"problems", problems}};
}

}  // namespace lotse::bridge
