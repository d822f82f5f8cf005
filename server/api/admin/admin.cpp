// /_lotse/admin/v1: provisioning, the internal exchange, consultations, data-protection requests,
// retention and statistics, behind an admin access token. Every change is written to the audit log.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>

#include "server/api/client/push_rules.hpp"
#include "server/api/common.hpp"
#include "server/bootstrap_request.hpp"
#include "server/core/identifiers.hpp"
#include "server/core/room_creation.hpp"

namespace lotse::api {
namespace {

using boost::json::array;
using boost::json::object;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<std::string> string_list(const object& o, const char* key, bool required) {
  std::vector<std::string> out;
  auto* v = o.if_contains(key);
  if (!v) {
    if (required) throw http::missing_param(std::string("missing '") + key + "'");
    return out;
  }
  if (!v->is_array()) throw http::bad_json(std::string("'") + key + "' must be a list of strings");
  for (const auto& e : v->as_array()) {
    if (!e.is_string()) throw http::bad_json(std::string("'") + key + "' must be a list of strings");
    out.emplace_back(e.get_string());
  }
  return out;
}

bool is_language_code(std::string_view l) {
  return l.size() == 2 && std::islower(static_cast<unsigned char>(l[0])) && std::islower(static_cast<unsigned char>(l[1]));
}

std::string user_id_param(Homeserver& hs, const std::string& raw) {
  std::string id = raw.empty() || raw[0] == '@' ? raw : "@" + raw + ":" + hs.config.server_name;
  if (!core::is_valid_user_id(id)) throw http::invalid_param("'" + raw + "' is not a user ID");
  return id;
}

// Applies the profile fields present in `body` to `p`, validating them.
void apply_profile(Homeserver& hs, const object& body, core::CounselorProfile& p, bool creating) {
  if (auto a = opt_string(body, "agency"); a || creating) {
    if (!a) throw http::missing_param("missing 'agency'");
    if (!hs.counseling.agency_exists(*a)) throw http::invalid_param("Unknown agency " + *a + " (lotse-admin agency add).");
    p.agency_id = *a;
  }
  if (body.contains("languages") || creating) {
    p.languages = string_list(body, "languages", creating);
    for (const auto& l : p.languages)
      if (!is_language_code(l))
        throw http::invalid_param("languages are ISO 639-1 codes such as de, ar, fa: '" + l + "'");
  }
  if (body.contains("topics") || creating) {
    p.topics = string_list(body, "topics", creating);
    for (const auto& t : p.topics)
      if (!hs.counseling.topic_exists(t)) throw http::invalid_param("Unknown topic " + t + " (lotse-admin topic add).");
  }
  if (body.contains("postal_codes")) {
    p.postal_codes = string_list(body, "postal_codes", false);
    for (const auto& c : p.postal_codes)
      if (c.empty() || c.size() > 5 || !std::all_of(c.begin(), c.end(), ::isdigit))
        throw http::invalid_param("postal code areas are 1 to 5 digits: '" + c + "'");
  }
  if (auto g = opt_string(body, "gender")) p.gender = *g;
  if (auto* a = body.if_contains("absence")) {
    if (a->is_null()) {
      p.absence_message = p.absence_from = p.absence_until = "";
    } else {
      if (!a->is_object()) throw http::bad_json("'absence' must be an object {message, from, until}");
      p.absence_message = req_string(a->as_object(), "message");
      p.absence_from = opt_string(a->as_object(), "from").value_or("");
      p.absence_until = opt_string(a->as_object(), "until").value_or("");
      for (const auto* d : {&p.absence_from, &p.absence_until})
        if (!d->empty() && (d->size() != 10 || (*d)[4] != '-' || (*d)[7] != '-'))
          throw http::invalid_param("absence dates are YYYY-MM-DD");
    }
  }
}

object counselor_json(Homeserver& hs, const core::CounselorProfile& p) {
  auto o = p.to_json();
  o["deactivated"] = p.deactivated;
  std::int64_t open = 0;
  for (const auto& c : hs.counseling.consultations_of(p.user_id))
    if (c.counselor == p.user_id && c.status == "open") ++open;
  o["open_consultations"] = open;
  return o;
}

object consultation_admin_json(Homeserver& hs, const core::Consultation& c) {
  return {{"room_id", c.room_id}, {"seeker", c.seeker},   {"counselor", c.counselor},
          {"agency", c.agency_id}, {"topic", c.topic_id}, {"status", c.status},
          {"created_ts", c.created_ts}, {"closed_ts", c.closed_ts ? boost::json::value(*c.closed_ts) : nullptr},
          {"last_activity_ts", hs.counseling.last_activity(c.room_id)}};
}

awaitable<Response> post_bootstrap(Homeserver& hs, Request& r) {
  const auto& body = r.json_object();
  auto token = req_string(body, "bootstrap_token");
  if (!hs.accounts.users_with_role("admin").empty())
    throw http::forbidden("An administrator exists already; bootstrap works only once.");
  // The request file written by `lotse-admin bootstrap --data-dir` holds the token's hash, not the token.
  auto file = std::filesystem::path(hs.config.data_dir) / kBootstrapRequestFile;
  std::optional<BootstrapRequest> pending;
  if (std::ifstream in(file); in) pending = BootstrapRequest::parse(std::string(std::istreambuf_iterator<char>(in), {}));
  auto now = now_ms();
  if (!pending || pending->expires_ms < now || pending->expires_ms > now + kBootstrapLifetimeMs) {
    std::error_code ec;
    if (pending) std::filesystem::remove(file, ec);  // expired (or implausibly long-lived): spent
    throw http::forbidden("No pending bootstrap request: run `lotse-admin bootstrap --data-dir DATA_DIR` on the server's host.");
  }
  if (!e2ee::constant_time_equal(BootstrapRequest::hash(token), pending->token_sha256_hex))
    throw http::forbidden("Wrong bootstrap token.");
  auto localpart = opt_string(body, "username").value_or("admin");
  if (!core::is_valid_new_localpart(localpart)) throw MatrixError(400, "M_INVALID_USERNAME", "Invalid username.");
  std::string user_id = "@" + localpart + ":" + hs.config.server_name;
  if (hs.accounts.user_exists(user_id)) throw MatrixError(400, "M_USER_IN_USE", "This user ID is already taken.");
  // Spent before the first suspension, so two concurrent requests with the token cannot both pass.
  std::error_code claim_ec;
  if (!std::filesystem::remove(file, claim_ec))
    throw http::forbidden("No pending bootstrap request: run `lotse-admin bootstrap --data-dir DATA_DIR` on the server's host.");
  std::string password = e2ee::random_token(18);
  auto cost = hs.password_cost();
  auto task = [password, cost] { return core::hash_password(password, cost); };
  auto hash = co_await hs.run_blocking(task);
  if (!hs.accounts.users_with_role("admin").empty() || hs.accounts.user_exists(user_id))
    throw http::forbidden("An administrator exists already; bootstrap works only once.");
  core::Session s;
  {
    store::WriteUnit unit(hs.db);
    hs.accounts.create_user(unit, user_id, hash, std::string("Administration"), "admin");
    hs.account_data.set(unit, user_id, "", "m.push_rules", default_push_rules(user_id));
    s = hs.accounts.open_session(unit, user_id, std::nullopt, std::string("lotse-admin"), r.remote_ip);
    hs.counseling.audit(unit, user_id, "bootstrap", user_id);
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json({{"user_id", user_id}, {"password", password}, {"access_token", s.access_token}});
}

awaitable<Response> post_counselor(Homeserver& hs, Request& r) {
  auto admin = require_admin(hs, r);
  const auto& body = r.json_object();
  auto localpart = req_string(body, "username");
  if (!core::is_valid_new_localpart(localpart)) throw MatrixError(400, "M_INVALID_USERNAME", "Invalid username " + localpart + ".");
  std::string user_id = "@" + localpart + ":" + hs.config.server_name;
  if (hs.accounts.user_exists(user_id)) throw MatrixError(400, "M_USER_IN_USE", "This user ID is already taken.");
  auto display_name = req_string(body, "display_name");
  core::CounselorProfile p;
  p.user_id = user_id;
  p.display_name = display_name;
  apply_profile(hs, body, p, true);
  auto role = opt_string(body, "role").value_or("counselor");
  if (role != "counselor" && role != "admin") throw http::invalid_param("role must be counselor or admin");
  auto email = opt_string(body, "email");
  if (email && !core::valid_email_address(*email)) throw http::invalid_param("email is not a usable address");
  bool generated = !body.contains("password");
  std::string password = generated ? e2ee::random_token(18) : req_string(body, "password");
  if (password.size() < 8) throw http::invalid_param("passwords need at least 8 characters");
  auto cost = hs.password_cost();
  auto task = [password, cost] { return core::hash_password(password, cost); };
  auto hash = co_await hs.run_blocking(task);
  if (hs.accounts.user_exists(user_id)) throw MatrixError(400, "M_USER_IN_USE", "This user ID is already taken.");
  {
    store::WriteUnit unit(hs.db);
    hs.accounts.create_user(unit, user_id, hash, display_name, role);
    hs.account_data.set(unit, user_id, "", "m.push_rules", default_push_rules(user_id));
    if (role == "counselor") hs.counseling.save_profile(unit, p);
    if (email) hs.email_digests.set_email(unit, user_id, *email);
    hs.counseling.audit(unit, admin.user_id, role == "admin" ? "admin.add" : "counselor.add", user_id,
                        {{"agency", p.agency_id}});
    unit.release();
  }
  co_await hs.db.commit();
  object out{{"user_id", user_id}, {"role", role}};
  if (generated) out["password"] = password;
  if (role == "counselor") out["profile"] = counselor_json(hs, *hs.counseling.profile(user_id));
  co_return Response::json(out);
}

awaitable<Response> put_counselor(Homeserver& hs, Request& r) {
  auto admin = require_admin(hs, r);
  auto user_id = user_id_param(hs, r.param("userId"));
  auto p = hs.counseling.profile(user_id);
  if (!p) throw http::not_found("No counselor " + user_id + ".");
  const auto& body = r.json_object();
  apply_profile(hs, body, *p, false);
  auto display_name = opt_string(body, "display_name");
  // "email": an address for the digests, or null to remove it. The audit log notes the change, not the address.
  auto* email = body.if_contains("email");
  if (email && !email->is_null() && !(email->is_string() && core::valid_email_address(std::string(email->get_string()))))
    throw http::invalid_param("email must be a usable address or null");
  object audited = body;
  if (email) audited["email"] = email->is_null() ? "removed" : "set";
  {
    store::WriteUnit unit(hs.db);
    hs.counseling.save_profile(unit, *p);
    if (display_name) hs.accounts.set_profile_field(unit, user_id, "displayname", display_name);
    if (email)
      hs.email_digests.set_email(unit, user_id,
                                 email->is_null() ? std::nullopt : std::optional<std::string>(email->get_string()));
    hs.counseling.audit(unit, admin.user_id, "counselor.update", user_id, audited);
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json(counselor_json(hs, *hs.counseling.profile(user_id)));
}

awaitable<Response> post_deactivate_counselor(Homeserver& hs, Request& r) {
  auto admin = require_admin(hs, r);
  auto user_id = user_id_param(hs, r.param("userId"));
  auto p = hs.counseling.profile(user_id);
  if (!p) throw http::not_found("No counselor " + user_id + ".");
  if (p->deactivated) throw http::invalid_param(user_id + " is deactivated already.");
  {
    store::WriteUnit unit(hs.db);
    remove_all_devices(hs, unit, user_id, std::nullopt);
    hs.accounts.deactivate(unit, user_id);
    hs.counseling.audit(unit, admin.user_id, "counselor.deactivate", user_id);
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json(counselor_json(hs, *hs.counseling.profile(user_id)));
}

awaitable<Response> post_agency(Homeserver& hs, Request& r) {
  auto admin = require_admin(hs, r);
  const auto& body = r.json_object();
  core::Agency a{req_string(body, "agency_id"), req_string(body, "name"), opt_string(body, "city").value_or("")};
  if (!core::is_valid_new_localpart(a.agency_id)) throw http::invalid_param("agency_id: lower-case letters, digits, ._=-/+");
  if (hs.counseling.agency_exists(a.agency_id)) throw MatrixError(409, "M_CONFLICT", "Agency " + a.agency_id + " exists.");
  {
    store::WriteUnit unit(hs.db);
    hs.counseling.add_agency(unit, a);
    hs.counseling.audit(unit, admin.user_id, "agency.add", a.agency_id, {{"name", a.name}});
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json({{"agency_id", a.agency_id}, {"name", a.name}, {"city", a.city}});
}

// A topic's name: shown to seekers as it is (the app escapes it), so only its length is limited.
std::string topic_name(const char* key, std::string name) {
  if (name.empty() || name.size() > 200) throw http::invalid_param(std::string("'") + key + "' must be 1 to 200 bytes");
  return name;
}

// "names": {"ar": "...", "fa": "..."}: the topic's name per ISO 639-1 language, at most one per language.
object topic_names(const object& body) {
  object out;
  auto* v = body.if_contains("names");
  if (!v) return out;
  if (!v->is_object()) throw http::bad_json("'names' must be an object of language code -> name");
  if (v->as_object().size() > 50) throw http::invalid_param("'names' has more than 50 languages");
  for (const auto& [lang, name] : v->as_object()) {
    if (!is_language_code(lang)) throw http::invalid_param("names: languages are ISO 639-1 codes such as ar, fa: '" + std::string(lang) + "'");
    if (!name.is_string()) throw http::bad_json("names: each name must be a string");
    out[lang] = topic_name("names", std::string(name.get_string()));
  }
  return out;
}

awaitable<Response> post_topic(Homeserver& hs, Request& r) {
  auto admin = require_admin(hs, r);
  const auto& body = r.json_object();
  core::Topic t{req_string(body, "topic_id"), topic_name("name", req_string(body, "name")), topic_names(body)};
  if (!core::is_valid_new_localpart(t.topic_id)) throw http::invalid_param("topic_id: lower-case letters, digits, ._=-/+");
  if (hs.counseling.topic_exists(t.topic_id)) throw MatrixError(409, "M_CONFLICT", "Topic " + t.topic_id + " exists.");
  {
    store::WriteUnit unit(hs.db);
    hs.counseling.add_topic(unit, t);
    hs.counseling.audit(unit, admin.user_id, "topic.add", t.topic_id, {{"name", t.name}});
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json(t.to_json());
}

// Renames a topic or sets its translations; fields left out stay as they are.
awaitable<Response> put_topic(Homeserver& hs, Request& r) {
  auto admin = require_admin(hs, r);
  const auto& body = r.json_object();
  auto t = hs.counseling.topic(r.param("topicId"));
  if (!t) throw http::not_found("There is no topic " + r.param("topicId") + ".");
  if (auto name = opt_string(body, "name")) t->name = topic_name("name", *name);
  if (body.contains("names")) t->names = topic_names(body);
  {
    store::WriteUnit unit(hs.db);
    hs.counseling.update_topic(unit, *t);
    hs.counseling.audit(unit, admin.user_id, "topic.update", t->topic_id, {{"name", t->name}});
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json(t->to_json());
}

awaitable<Response> post_exchange_room(Homeserver& hs, Request& r) {
  auto admin = require_admin(hs, r);
  const auto& body = r.json_object();
  auto name = req_string(body, "name");
  auto topic = opt_string(body, "topic").value_or("");
  auto service = hs.service_user_id();
  std::string room_id;
  {
    store::WriteUnit unit(hs.db);
    auto space = hs.counseling.exchange_space();
    if (!space) {
      space = core::create_room(hs.rooms, unit, service,
                                {{"preset", "public_chat"},
                                 {"name", "Interner Fachaustausch"},
                                 {"topic", "Austausch der Beratenden"},
                                 {"creation_content", {{"type", "m.space"}}},
                                 {"power_level_content_override", {{"events_default", 100}, {"invite", 50}}}});
      hs.counseling.add_exchange_room(unit, *space, "space");
    }
    object request{{"preset", "public_chat"},
                   {"name", name},
                   {"initial_state",
                    {{{"type", "m.room.encryption"}, {"state_key", ""}, {"content", {{"algorithm", "m.megolm.v1.aes-sha2"}}}},
                     {{"type", "m.space.parent"}, {"state_key", *space},
                      {"content", {{"via", array{boost::json::value(hs.config.server_name)}}, {"canonical", true}}}}}}};
    if (!topic.empty()) request["topic"] = topic;
    room_id = core::create_room(hs.rooms, unit, service, request);
    hs.counseling.add_exchange_room(unit, room_id, "room");
    hs.rooms.append(unit, *hs.rooms.room(*space), service, "m.space.child",
                    {{"via", array{boost::json::value(hs.config.server_name)}}, {"suggested", true}}, room_id);
    hs.counseling.audit(unit, admin.user_id, "exchange.create-room", room_id, {{"name", name}});
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json({{"room_id", room_id}, {"space_id", *hs.counseling.exchange_space()}});
}

awaitable<Response> exchange_member(Homeserver& hs, Request& r, bool add) {
  auto admin = require_admin(hs, r);
  auto room_id = r.param("roomId");
  if (!hs.counseling.is_exchange_room(room_id)) throw http::not_found("No exchange room " + room_id + ".");
  std::string user_id = add ? user_id_param(hs, req_string(r.json_object(), "user_id")) : user_id_param(hs, r.param("userId"));
  if (!hs.accounts.user_exists(user_id)) throw http::not_found("Unknown user " + user_id);
  auto service = hs.service_user_id();
  {
    store::WriteUnit unit(hs.db);
    std::vector<std::string> rooms{room_id};
    if (auto space = hs.counseling.exchange_space()) rooms.push_back(*space);
    for (const auto& rid : rooms) {
      auto m = hs.rooms.membership(rid, user_id);
      if (add && (m == "join" || m == "invite")) continue;
      if (!add && m != "join" && m != "invite") continue;
      if (add) hs.policy.check_invite(rid, service, user_id);
      append_membership(hs, unit, *hs.rooms.room(rid), service, user_id, add ? "invite" : "leave",
                        add ? std::nullopt : std::optional<std::string>("Removed from the internal exchange."));
      if (!add && rid != room_id) break;  // removing from one room keeps the space membership
    }
    hs.counseling.audit(unit, admin.user_id, add ? "exchange.add-member" : "exchange.remove-member", user_id,
                        {{"room_id", room_id}});
    unit.release();
  }
  co_await hs.db.commit();
  co_return empty_ok();
}

awaitable<Response> consultation_action(Homeserver& hs, Request& r, std::string action) {
  auto admin = require_admin(hs, r);
  auto room_id = r.param("roomId");
  if (!hs.counseling.consultation(room_id)) throw http::not_found("No consultation " + room_id + ".");
  object details;
  {
    store::WriteUnit unit(hs.db);
    if (action == "transfer") {
      auto to = user_id_param(hs, req_string(r.json_object(), "to"));
      auto p = hs.counseling.profile(to);
      if (!p || p->deactivated) throw http::not_found("No active counselor " + to + ".");
      details["to"] = to;
      details["from"] = hs.counseling.consultation(room_id)->counselor;
      hs.consultation_rooms.transfer(unit, room_id, *p);
    } else {
      hs.consultation_rooms.set_status(unit, room_id, action == "close" ? "closed" : "open");
    }
    hs.counseling.audit(unit, admin.user_id, "consultation." + action, room_id, details);
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json(consultation_admin_json(hs, *hs.counseling.consultation(room_id)));
}

awaitable<Response> post_erase(Homeserver& hs, Request& r) {
  auto admin = require_admin(hs, r);
  auto user_id = user_id_param(hs, r.param("userId"));
  auto user = hs.accounts.find_user(user_id);
  if (!user) throw http::not_found("Unknown user " + user_id);
  if (user->role == "admin" || user->role == "service") throw http::forbidden("Administrators and the service user cannot be erased here.");
  {
    store::WriteUnit unit(hs.db);
    remove_all_devices(hs, unit, user_id, std::nullopt);
    hs.data_protection.erase_user(unit, user_id);
    hs.counseling.audit(unit, admin.user_id, "user.erase", user_id);
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json({{"erased", user_id}});
}

awaitable<Response> post_purge(Homeserver& hs, Request& r) {
  auto admin = require_admin(hs, r);
  const auto& body = r.json_object();
  std::int64_t days = hs.config.counseling.retention_days;
  if (auto* d = body.if_contains("inactive_days")) {
    if (!d->is_int64() || d->get_int64() < 1) throw http::invalid_param("inactive_days must be a positive integer");
    days = d->get_int64();
  }
  bool dry_run = opt_bool(body, "dry_run").value_or(false);
  std::int64_t cutoff = now_ms() - days * 24 * 3600 * 1000;
  array purged;
  std::vector<core::Consultation> old;
  for (const auto& c : hs.counseling.all_consultations(std::nullopt))
    if (hs.counseling.last_activity(c.room_id) < cutoff) old.push_back(c);
  for (const auto& c : old)
    purged.push_back(object{{"room_id", c.room_id}, {"seeker", c.seeker}, {"last_activity_ts", hs.counseling.last_activity(c.room_id)}});
  if (!dry_run && !old.empty()) {
    store::WriteUnit unit(hs.db);
    for (const auto& c : old) {
      hs.data_protection.purge_room(unit, c.room_id);
      // The seeker's files go with their last consultation (the server cannot tell which encrypted
      // file belongs to which room).
      if (hs.counseling.consultations_of(c.seeker).empty()) hs.media.remove_all_of_user(unit, c.seeker);
    }
    hs.counseling.audit(unit, admin.user_id, "retention.purge", "", {{"inactive_days", days}, {"rooms", purged.size()}});
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json({{"dry_run", dry_run}, {"inactive_days", days}, {"consultations", std::move(purged)}});
}

std::string month_of(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[8];
  std::strftime(buf, sizeof buf, "%Y-%m", &tm);
  return buf;
}

awaitable<Response> get_stats(Homeserver& hs, Request& r) {
  require_admin(hs, r);
  struct Bucket {
    std::int64_t opened = 0, messages = 0;
    std::vector<std::int64_t> first_response_ms;
  };
  std::map<std::tuple<std::string, std::string, std::string>, Bucket> buckets;  // (agency, topic, month)
  for (const auto& c : hs.counseling.all_consultations(std::nullopt)) {
    auto& b = buckets[{c.agency_id, c.topic_id, month_of(c.created_ts)}];
    ++b.opened;
    // Message counts per month of the message; first response = first counselor message after the
    // seeker's first message. Only metadata is read, never content.
    auto st = hs.db.conn().prepare(
        "SELECT sender, origin_server_ts FROM events WHERE room_id = ? AND type IN ('m.room.message', 'm.room.encrypted') "
        "AND redacted_by IS NULL ORDER BY stream_ordering");
    st.bind_all(c.room_id);
    std::optional<std::int64_t> seeker_first;
    bool answered = false;
    while (st.step()) {
      auto sender = st.text(0);
      auto ts = st.int64(1);
      ++buckets[{c.agency_id, c.topic_id, month_of(ts)}].messages;
      if (sender == c.seeker && !seeker_first) seeker_first = ts;
      else if (seeker_first && !answered && sender != c.seeker && sender != hs.service_user_id()) {
        b.first_response_ms.push_back(ts - *seeker_first);
        answered = true;
      }
    }
  }
  array rows;
  for (auto& [key, b] : buckets) {
    object row{{"agency", std::get<0>(key)}, {"topic", std::get<1>(key)}, {"month", std::get<2>(key)},
               {"consultations_opened", b.opened}, {"messages", b.messages}};
    if (!b.first_response_ms.empty()) {
      std::sort(b.first_response_ms.begin(), b.first_response_ms.end());
      auto n = b.first_response_ms.size();
      row["median_first_response_s"] = (n % 2 ? b.first_response_ms[n / 2]
                                              : (b.first_response_ms[n / 2 - 1] + b.first_response_ms[n / 2]) / 2) / 1000;
    } else {
      row["median_first_response_s"] = nullptr;
    }
    rows.push_back(std::move(row));
  }
  co_return Response::json({{"stats", std::move(rows)}});
}

}  // namespace

void register_admin_routes(http::Router& router, Homeserver& hs) {
  const std::string base = "/_lotse/admin/v1";
  raw_route(router, verb::post, base + "/bootstrap", [&hs](Request& r) { return post_bootstrap(hs, r); });
  raw_route(router, verb::post, base + "/counselors", [&hs](Request& r) { return post_counselor(hs, r); });
  raw_route(router, verb::get, base + "/counselors", [&hs](Request& r) -> awaitable<Response> {
    require_admin(hs, r);
    array out;
    for (const auto& p : hs.counseling.counselors()) out.push_back(counselor_json(hs, p));
    co_return Response::json({{"counselors", std::move(out)}});
  });
  raw_route(router, verb::get, base + "/counselors/{userId}", [&hs](Request& r) -> awaitable<Response> {
    require_admin(hs, r);
    auto p = hs.counseling.profile(user_id_param(hs, r.param("userId")));
    if (!p) throw http::not_found("No counselor " + r.param("userId") + ".");
    co_return Response::json(counselor_json(hs, *p));
  });
  raw_route(router, verb::put, base + "/counselors/{userId}", [&hs](Request& r) { return put_counselor(hs, r); });
  raw_route(router, verb::post, base + "/counselors/{userId}/deactivate",
            [&hs](Request& r) { return post_deactivate_counselor(hs, r); });
  raw_route(router, verb::post, base + "/agencies", [&hs](Request& r) { return post_agency(hs, r); });
  raw_route(router, verb::get, base + "/agencies", [&hs](Request& r) -> awaitable<Response> {
    require_admin(hs, r);
    array out;
    for (const auto& a : hs.counseling.agencies()) out.push_back(object{{"agency_id", a.agency_id}, {"name", a.name}, {"city", a.city}});
    co_return Response::json({{"agencies", std::move(out)}});
  });
  raw_route(router, verb::post, base + "/topics", [&hs](Request& r) { return post_topic(hs, r); });
  raw_route(router, verb::get, base + "/topics", [&hs](Request& r) -> awaitable<Response> {
    require_admin(hs, r);
    array out;
    for (const auto& t : hs.counseling.topics()) out.push_back(t.to_json());
    co_return Response::json({{"topics", std::move(out)}});
  });
  raw_route(router, verb::put, base + "/topics/{topicId}", [&hs](Request& r) { return put_topic(hs, r); });
  raw_route(router, verb::post, base + "/exchange/rooms", [&hs](Request& r) { return post_exchange_room(hs, r); });
  raw_route(router, verb::post, base + "/exchange/rooms/{roomId}/members", [&hs](Request& r) { return exchange_member(hs, r, true); });
  raw_route(router, verb::delete_, base + "/exchange/rooms/{roomId}/members/{userId}",
            [&hs](Request& r) { return exchange_member(hs, r, false); });
  raw_route(router, verb::get, base + "/consultations", [&hs](Request& r) -> awaitable<Response> {
    require_admin(hs, r);
    array out;
    for (const auto& c : hs.counseling.all_consultations(r.query_param("status"))) out.push_back(consultation_admin_json(hs, c));
    co_return Response::json({{"consultations", std::move(out)}});
  });
  raw_route(router, verb::get, base + "/consultations/{roomId}", [&hs](Request& r) -> awaitable<Response> {
    require_admin(hs, r);
    auto c = hs.counseling.consultation(r.param("roomId"));
    if (!c) throw http::not_found("No consultation " + r.param("roomId") + ".");
    co_return Response::json(consultation_admin_json(hs, *c));
  });
  for (std::string action : {"transfer", "close", "reopen"})
    raw_route(router, verb::post, base + "/consultations/{roomId}/" + action,
              [&hs, action](Request& r) { return consultation_action(hs, r, action); });
  raw_route(router, verb::get, base + "/users/{userId}/export", [&hs](Request& r) -> awaitable<Response> {
    auto admin = require_admin(hs, r);
    auto user_id = user_id_param(hs, r.param("userId"));
    if (!hs.accounts.user_exists(user_id)) throw http::not_found("Unknown user " + user_id);
    auto data = hs.data_protection.export_user(user_id);
    {
      store::WriteUnit unit(hs.db);
      hs.counseling.audit(unit, admin.user_id, "user.export", user_id);
      unit.release();
    }
    co_await hs.db.commit();
    co_return Response::json(data);
  });
  raw_route(router, verb::post, base + "/users/{userId}/erase", [&hs](Request& r) { return post_erase(hs, r); });
  raw_route(router, verb::post, base + "/retention/purge", [&hs](Request& r) { return post_purge(hs, r); });
  raw_route(router, verb::get, base + "/stats", [&hs](Request& r) { return get_stats(hs, r); });
  raw_route(router, verb::get, base + "/audit", [&hs](Request& r) -> awaitable<Response> {
    require_admin(hs, r);
    std::int64_t limit = 100;
    if (auto l = r.query_param("limit")) limit = std::clamp<std::int64_t>(std::atoll(l->c_str()), 1, 10000);
    co_return Response::json({{"entries", hs.counseling.audit_entries(limit)}});
  });
}

}  // namespace lotse::api
