// /_lotse/admin/v1/import: what lotse-bridge needs to move the old system into Lotse, behind an admin
// token and audited. Accounts arrive with their old password hash (verified at the first login and
// replaced by argon2id there), rooms with their original creation time and members, and messages
// (already Megolm-encrypted by the bridge) with their original sender and timestamp. Every write is
// idempotent under the bridge's own ids, and the API writes only into accounts and rooms that the
// import created: it cannot be used to speak as a user who signed up in Lotse or into a live room.
#include <algorithm>
#include <chrono>

#include "server/api/client/push_rules.hpp"
#include "server/api/common.hpp"
#include "server/core/identifiers.hpp"
#include "server/core/imports.hpp"
#include "server/core/passwords.hpp"
#include "server/core/room_creation.hpp"

namespace lotse::api {
namespace {

using boost::json::array;
using boost::json::object;

constexpr std::int64_t kEarliestTs = 946684800000;  // 2000-01-01: nothing older came from the old system
constexpr const char* kImportDevice = core::kImportDeviceId;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Every import call: an administrator's token, and the import not closed yet.
const http::Auth& require_import_admin(Homeserver& hs, Request& r) {
  const auto& auth = require_admin(hs, r);
  if (hs.imports.closed()) throw http::forbidden("The import from the old system is closed on this instance.");
  return auth;
}

std::int64_t req_ts(const object& body, const char* key) {
  auto* v = body.if_contains(key);
  if (!v) throw http::missing_param(std::string("missing '") + key + "'");
  if (!v->is_int64()) throw http::bad_json(std::string("'") + key + "' must be a timestamp in milliseconds");
  auto ts = v->as_int64();
  if (ts < kEarliestTs || ts > now_ms() + 60'000)
    throw http::invalid_param(std::string("'") + key + "' lies before 2000 or in the future");
  return ts;
}

std::vector<std::string> user_list(Homeserver& hs, const object& o, const char* key) {
  std::vector<std::string> out;
  auto* v = o.if_contains(key);
  if (!v) return out;
  if (!v->is_array() || v->as_array().size() > 10000) throw http::bad_json(std::string("'") + key + "' must be a list of user IDs");
  for (const auto& e : v->as_array()) {
    if (!e.is_string() || !core::is_valid_user_id(e.get_string())) throw http::bad_json(std::string("'") + key + "' must be a list of user IDs");
    std::string id(e.get_string());
    if (!hs.accounts.user_exists(id)) throw http::invalid_param("Unknown user " + id + " (import the account first).");
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
  return out;
}

bool valid_import_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == ':';
  });
}

// "password": {"algorithm": "bcrypt", "hash": "$2b$10$..."} or {"algorithm": "pbkdf2-sha256",
// "iterations": 27500, "salt": <base64>, "hash": <base64>} (Keycloak's two forms) -> the stored hash;
// "" when absent (the account cannot sign in with a password).
std::string imported_password_hash(const object& body) {
  auto* v = body.if_contains("password");
  if (!v || v->is_null()) return "";
  if (!v->is_object()) throw http::bad_json("'password' must be an object");
  const auto& p = v->as_object();
  auto alg = req_string(p, "algorithm");
  std::optional<std::string> hash;
  if (alg == "bcrypt") {
    hash = req_string(p, "hash");
    if (!core::is_importable_hash(*hash) || !hash->starts_with("$2")) hash.reset();
  } else if (alg == "pbkdf2-sha256") {
    auto* it = p.if_contains("iterations");
    if (!it || !it->is_int64()) throw http::bad_json("'iterations' must be an integer");
    hash = core::pbkdf2_sha256_stored_hash(it->as_int64(), req_string(p, "salt"), req_string(p, "hash"));
  } else {
    throw http::invalid_param("password algorithm must be bcrypt or pbkdf2-sha256");
  }
  if (!hash) throw http::invalid_param("the " + alg + " password hash is malformed");
  return *hash;
}

// PUT /import/users/{localpart}: creates the account, or updates the profile of one the import made
// earlier (its password hash is left alone: the person may have signed in and upgraded it).
awaitable<Response> put_user(Homeserver& hs, Request& r) {
  auto admin = require_import_admin(hs, r);
  const auto localpart = r.param("localpart");
  if (!core::is_valid_new_localpart(localpart)) throw MatrixError(400, "M_INVALID_USERNAME", "Invalid username " + localpart + ".");
  const std::string user_id = "@" + localpart + ":" + hs.config.server_name;
  const auto& body = r.json_object();
  auto role = req_string(body, "role");
  if (role != "seeker" && role != "counselor") throw http::invalid_param("role must be seeker or counselor");
  auto display_name = opt_string(body, "display_name");
  if (display_name && (display_name->empty() || display_name->size() > 256)) throw http::invalid_param("display_name must be 1 to 256 bytes");
  auto hash = imported_password_hash(body);
  bool deactivated = opt_bool(body, "deactivated").value_or(false);
  auto created_ts = req_ts(body, "created_ts");
  core::CounselorProfile profile;
  if (role == "counselor") {
    const auto& p = req_object(body, "profile");
    profile.user_id = user_id;
    profile.display_name = display_name.value_or(localpart);
    // A counselor the old system had at no agency keeps none (lotse-admin counselor update sets one).
    profile.agency_id = opt_string(p, "agency").value_or("");
    if (!profile.agency_id.empty() && !hs.counseling.agency_exists(profile.agency_id))
      throw http::invalid_param("Unknown agency " + profile.agency_id);
    for (const char* key : {"languages", "topics"}) {
      auto* v = p.if_contains(key);
      if (!v) continue;
      if (!v->is_array()) throw http::bad_json(std::string("'") + key + "' must be a list of strings");
      auto& out = std::string(key) == "languages" ? profile.languages : profile.topics;
      if (v->as_array().size() > 200) throw http::invalid_param(std::string("too many ") + key);
      for (const auto& e : v->as_array()) {
        if (!e.is_string() || e.get_string().empty() || e.get_string().size() > 64)
          throw http::bad_json(std::string("'") + key + "' must be a list of short strings");
        out.emplace_back(e.get_string());
      }
    }
    for (const auto& t : profile.topics)
      if (!hs.counseling.topic_exists(t)) throw http::invalid_param("Unknown topic " + t);
    if (auto* pc = p.if_contains("postal_codes")) {
      if (!pc->is_array() || pc->as_array().size() > 10000) throw http::bad_json("'postal_codes' must be a list of strings");
      for (const auto& e : pc->as_array()) {
        if (!e.is_string() || e.get_string().empty() || e.get_string().size() > 5 ||
            !std::all_of(e.get_string().begin(), e.get_string().end(), [](char c) { return c >= '0' && c <= '9'; }))
          throw http::invalid_param("postal code areas are 1 to 5 digits");
        profile.postal_codes.emplace_back(e.get_string());
      }
    }
    profile.absence_message = opt_string(p, "absence_message").value_or("");
    if (profile.absence_message.size() > 4096) throw http::invalid_param("absence_message is longer than 4096 bytes");
  }

  auto email = opt_string(body, "email");
  if (email && (email->size() > 254 || email->find('@') == std::string::npos)) throw http::invalid_param("email is not an address");
  std::optional<std::string> totp;
  if (auto* t = body.if_contains("totp"); t && !t->is_null()) {
    if (!t->is_object()) throw http::bad_json("'totp' must be an object");
    const auto& to = t->as_object();
    auto secret = req_string(to, "secret");
    if (secret.empty() || secret.size() > 256) throw http::invalid_param("totp secret must be 1 to 256 characters");
    object kept{{"secret", secret}};  // only what a TOTP check needs
    for (const char* f : {"algorithm", "subType"})
      if (auto s = opt_string(to, f); s && s->size() <= 32) kept[f] = *s;
    for (const char* f : {"digits", "period"})
      if (auto* n = to.if_contains(f); n && n->is_int64() && n->as_int64() > 0 && n->as_int64() <= 300) kept[f] = n->as_int64();
    totp = boost::json::serialize(kept);
  }
  bool exists = hs.accounts.user_exists(user_id);
  if (exists && !hs.accounts.is_imported(user_id))
    throw MatrixError(409, "M_USER_IN_USE", user_id + " exists and was not created by the import.");
  if (exists && hs.accounts.role(user_id) != role)
    throw MatrixError(409, "M_USER_IN_USE", user_id + " was imported with another role.");
  // A deactivated account (erased since, or imported so) stays as it is: a later run must not bring
  // back a profile, a name or a second factor that an erasure removed.
  if (exists) {
    auto u = hs.accounts.find_user(user_id);
    if (u && u->deactivated) co_return Response::json({{"user_id", user_id}, {"created", false}, {"deactivated", true}});
  }
  {
    store::WriteUnit unit(hs.db);
    if (!exists) {
      // A deactivated account keeps its name (its messages still show who wrote them) but has no
      // password and cannot sign in.
      hs.accounts.create_user(unit, user_id, deactivated ? "" : hash, display_name, role);
      hs.imports.mark_user(unit, user_id, created_ts, deactivated);
      if (email) hs.imports.set_email(unit, user_id, *email);
      hs.account_data.set(unit, user_id, "", "m.push_rules", default_push_rules(user_id));
    } else {
      hs.accounts.set_profile_field(unit, user_id, "displayname", display_name);
    }
    if (role == "counselor") hs.counseling.save_profile(unit, profile);
    if (totp) hs.imports.save_second_factor(unit, user_id, "totp", *totp);
    hs.counseling.audit(unit, admin.user_id, exists ? "import.user-update" : "import.user", user_id, {{"role", role}});
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json({{"user_id", user_id}, {"created", !exists}});
}

core::StoredEvent join_member(Homeserver& hs, store::WriteUnit& unit, const core::RoomInfo& room,
                              const std::string& service, const std::string& user_id) {
  auto m = hs.rooms.membership(room.room_id, user_id);
  if (m != "invite" && m != "join") append_membership(hs, unit, room, service, user_id, "invite", std::nullopt);
  return append_membership(hs, unit, room, user_id, user_id, "join", std::nullopt);
}

// PUT /import/rooms/{importId}: the room as it was created in the old system, its members joined at
// that time. A second call with the same id answers the room made the first time (adding members that
// are new in the export).
awaitable<Response> put_room(Homeserver& hs, Request& r) {
  auto admin = require_import_admin(hs, r);
  const auto import_id = r.param("importId");
  if (!valid_import_id(import_id)) throw http::invalid_param("import id: 1 to 128 of A-Z a-z 0-9 . _ - :");
  const auto& body = r.json_object();
  auto kind = req_string(body, "kind");
  if (kind != "consultation" && kind != "counselors" && kind != "exchange" && kind != "group")
    throw http::invalid_param("kind must be consultation, counselors, exchange or group");
  auto name = opt_string(body, "name").value_or("");
  auto topic = opt_string(body, "topic").value_or("");
  if (name.size() > 255 || topic.size() > 4096) throw http::invalid_param("name or topic too long");
  auto created_ts = req_ts(body, "created_ts");
  auto members = user_list(hs, body, "members");
  // Members who wrote here and had left: they join only when the room is created (to send their
  // messages, then leave again); a later run never brings them back.
  auto former = user_list(hs, body, "former_members");
  for (const auto& m : former)
    if (std::find(members.begin(), members.end(), m) != members.end()) throw http::invalid_param(m + " is a member and a former member");
  std::vector<std::string> everyone = members;
  everyone.insert(everyone.end(), former.begin(), former.end());
  for (const auto& m : everyone) {
    if (!hs.accounts.is_imported(m)) throw http::invalid_param(m + " was not imported: only imported accounts join imported rooms.");
    // The role rules of Lotse's own rooms: no seeker in a counselors' or exchange room; in a
    // consultation only its own seeker (checked below).
    if ((kind == "counselors" || kind == "exchange") && hs.accounts.role(m) == "seeker")
      throw http::forbidden(m + " is a seeker: a " + kind + " room is for counselors only.");
  }
  auto service = hs.service_user_id();

  std::optional<core::Consultation> consultation;
  array history;
  if (kind == "consultation") {
    const auto& c = req_object(body, "consultation");
    consultation = core::Consultation{"", req_string(c, "seeker"), req_string(c, "counselor"), opt_string(c, "agency").value_or(""),
                                      opt_string(c, "topic").value_or(""), req_string(c, "status"), created_ts, std::nullopt};
    if (consultation->status != "open" && consultation->status != "closed") throw http::invalid_param("status must be open or closed");
    for (const auto* u : {&consultation->seeker, &consultation->counselor}) {
      if (!core::is_valid_user_id(*u) || !hs.accounts.is_imported(*u)) throw http::invalid_param(*u + " is not an imported account");
    }
    if (hs.accounts.role(consultation->seeker) != "seeker" || hs.accounts.role(consultation->counselor) != "counselor")
      throw http::invalid_param("a consultation joins an imported seeker and an imported counselor");
    if (!consultation->agency_id.empty() && !hs.counseling.agency_exists(consultation->agency_id))
      throw http::invalid_param("Unknown agency " + consultation->agency_id);
    if (!consultation->topic_id.empty() && !hs.counseling.topic_exists(consultation->topic_id))
      throw http::invalid_param("Unknown topic " + consultation->topic_id);
    for (const auto& m : everyone)
      if (m != consultation->seeker && hs.accounts.role(m) == "seeker")
        throw http::forbidden(m + " is another seeker: a consultation has one.");
    if (consultation->status == "closed") {
      consultation->closed_ts = req_ts(c, "closed_ts");
      if (*consultation->closed_ts < created_ts) throw http::invalid_param("closed_ts lies before created_ts");
    }
    if (auto* h = c.if_contains("history")) {
      if (!h->is_array() || h->as_array().size() > 100) throw http::bad_json("'history' must be a list of hand-overs");
      for (const auto& e : h->as_array()) {
        if (!e.is_object()) throw http::bad_json("'history' must be a list of hand-overs");
        auto from = req_string(e.as_object(), "from"), to = req_string(e.as_object(), "to");
        if (!core::is_valid_user_id(from) || !core::is_valid_user_id(to)) throw http::invalid_param("hand-overs name user IDs");
        history.push_back(object{{"from", from}, {"to", to}, {"ts", req_ts(e.as_object(), "ts")}});
      }
    }
  }

  if (auto existing = hs.imports.room_by_import_id(import_id)) {
    if (existing->kind != kind) throw MatrixError(409, "M_CONFLICT", import_id + " was imported as a " + existing->kind + " room.");
    auto room = hs.rooms.room(existing->room_id);
    std::int64_t added = 0;
    {
      store::WriteUnit unit(hs.db);
      core::Rooms::Backdate at(hs.rooms, created_ts);
      for (const auto& m : members) {
        // The export says they are members now: also someone the import had let leave after her
        // messages (a former member) who joined the old room again since the rehearsal.
        auto membership = hs.rooms.membership(room->room_id, m);
        if (membership == "join" || membership == "ban") continue;
        join_member(hs, unit, *room, service, m);
        ++added;
      }
      if (added) hs.counseling.audit(unit, admin.user_id, "import.room-members", room->room_id, {{"added", added}});
      unit.release();
    }
    co_await hs.db.commit();
    co_return Response::json({{"room_id", existing->room_id}, {"created", false}, {"members_added", added}, {"service_user", service}});
  }

  std::string room_id;
  {
    store::WriteUnit unit(hs.db);
    core::Rooms::Backdate at(hs.rooms, created_ts);
    object request;
    if (consultation) {
      request = hs.consultation_rooms.room_request(*consultation, name);
      for (auto& s : request["initial_state"].as_array())
        if (s.as_object().at("type") == "de.lotse.consultation") s.as_object()["content"].as_object()["history"] = history;
    } else {
      // Counselor-only and group rooms: only the service user manages membership and state.
      request = object{{"preset", "private_chat"},
                       {"name", name},
                       {"power_level_content_override",
                        {{"users", {{service, 100}}}, {"users_default", 0}, {"events_default", 0}, {"state_default", 100},
                         {"invite", 100}, {"kick", 100}, {"ban", 100}, {"redact", 100}}},
                       {"initial_state",
                        {{{"type", "m.room.encryption"}, {"state_key", ""}, {"content", {{"algorithm", "m.megolm.v1.aes-sha2"}}}},
                         {{"type", "m.room.history_visibility"}, {"state_key", ""}, {"content", {{"history_visibility", "shared"}}}}}}};
      if (!topic.empty()) request["topic"] = topic;
      if (kind == "exchange") {
        auto space = hs.counseling.exchange_space();
        if (space)
          request["initial_state"].as_array().push_back(object{
              {"type", "m.space.parent"}, {"state_key", *space},
              {"content", {{"via", array{boost::json::value(hs.config.server_name)}}, {"canonical", true}}}});
      }
    }
    room_id = core::create_room(hs.rooms, unit, service, request);
    auto room = hs.rooms.room(room_id);
    if (consultation) {
      consultation->room_id = room_id;
      for (const auto* u : {&consultation->seeker, &consultation->counselor})
        if (std::find(everyone.begin(), everyone.end(), *u) == everyone.end()) everyone.push_back(*u);
    }
    for (const auto& m : everyone) join_member(hs, unit, *room, service, m);
    if (consultation) {
      hs.counseling.add_consultation(unit, *consultation);
      if (consultation->closed_ts) hs.counseling.update_consultation(unit, *consultation);
    }
    if (kind == "exchange") {
      hs.counseling.add_exchange_room(unit, room_id, "room");
      if (auto space = hs.counseling.exchange_space())
        hs.rooms.append(unit, *hs.rooms.room(*space), service, "m.space.child",
                        {{"via", array{boost::json::value(hs.config.server_name)}}}, room_id);
    }
    hs.imports.add_room(unit, {import_id, room_id, kind});
    hs.counseling.audit(unit, admin.user_id, "import.room", room_id,
                        {{"import_id", import_id}, {"kind", kind}, {"members", static_cast<std::int64_t>(everyone.size())}});
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json({{"room_id", room_id}, {"created", true}, {"service_user", service}});
}

core::RoomInfo require_imported_room(Homeserver& hs, const std::string& room_id) {
  if (!hs.imports.room_by_room_id(room_id)) throw http::forbidden(room_id + " was not created by the import.");
  return require_room(hs, room_id);
}

std::string require_imported_sender(Homeserver& hs, const object& body, const core::RoomInfo& room) {
  auto sender = req_string(body, "sender");
  if (sender != hs.service_user_id() && !hs.accounts.is_imported(sender))
    throw http::forbidden(sender + " was not imported: the import speaks only for imported accounts.");
  if (hs.rooms.membership(room.room_id, sender) != "join") throw http::forbidden(sender + " is not a member of " + room.room_id);
  return sender;
}

// PUT /import/rooms/{roomId}/events/{txnId}: one message as its sender wrote it, at its time. Only
// end-to-end encrypted events (the bridge encrypts) and redactions of deleted messages.
awaitable<Response> put_event(Homeserver& hs, Request& r) {
  require_import_admin(hs, r);
  auto room = require_imported_room(hs, r.param("roomId"));
  const auto& txn_id = r.param("txnId");
  if (txn_id.empty() || txn_id.size() > 255) throw http::invalid_param("transaction id must be 1 to 255 bytes");
  const auto& body = r.json_object();
  auto sender = require_imported_sender(hs, body, room);
  core::Transaction txn{sender, kImportDevice, txn_id};
  if (auto existing = hs.rooms.transaction_event(txn)) {
    auto ev = hs.rooms.event(*existing);
    if (!ev || ev->room_id != room.room_id) throw MatrixError(409, "M_CONFLICT", "Transaction " + txn_id + " was used in another room.");
    co_return Response::json({{"event_id", *existing}});
  }
  auto type = req_string(body, "type");
  auto ts = req_ts(body, "ts");
  const auto& given = req_object(body, "content");
  if (type != "m.room.encrypted" && type != "m.room.redaction")
    throw http::invalid_param("the import sends m.room.encrypted events and m.room.redaction only: no plaintext");
  std::optional<core::StoredEvent> target;
  object content;
  if (type == "m.room.redaction") {
    // A deleted message: its author takes back her own imported message, nothing else (never state,
    // never another's event), and the redaction carries no text of its own.
    auto redacts = opt_string(given, "redacts").value_or("");
    target = hs.rooms.event(redacts);
    if (!target || target->room_id != room.room_id) throw http::not_found("Unknown event " + redacts);
    if (target->state_key || target->type != "m.room.encrypted" || target->sender != sender)
      throw http::forbidden("the import redacts only its own encrypted messages, as their sender");
    content = object{{"redacts", redacts}};
  } else {
    // Megolm ciphertext and the fields Megolm events have; anything else could carry plaintext.
    for (const auto& kv : given) {
      const auto& k = kv.key();
      bool ok = k == "algorithm" || k == "ciphertext" || k == "sender_key" || k == "session_id" || k == "device_id" ||
                k == "m.relates_to";
      if (!ok) throw http::invalid_param("an imported message has no field '" + std::string(k) + "': only ciphertext leaves the bridge");
      if (k != "m.relates_to" && !kv.value().is_string()) throw http::bad_json("'" + std::string(k) + "' must be a string");
    }
    if (opt_string(given, "algorithm") != "m.megolm.v1.aes-sha2" || opt_string(given, "ciphertext").value_or("").empty())
      throw http::invalid_param("an imported message must be Megolm-encrypted (m.megolm.v1.aes-sha2)");
    if (auto* rel = given.if_contains("m.relates_to")) {
      if (!rel->is_object() || rel->as_object().size() != 2 || opt_string(rel->as_object(), "rel_type") != "m.replace")
        throw http::invalid_param("m.relates_to of an imported message is an edit: {rel_type: m.replace, event_id}");
      auto edited = hs.rooms.event(opt_string(rel->as_object(), "event_id").value_or(""));
      if (!edited || edited->room_id != room.room_id || edited->sender != sender)
        throw http::invalid_param("an imported edit replaces its sender's own message in this room");
    }
    content = given;
  }
  std::string event_id;
  {
    store::WriteUnit unit(hs.db);
    core::Rooms::Backdate at(hs.rooms, ts);
    auto ev = hs.rooms.append(unit, room, sender, type, content, std::nullopt, txn);
    if (target) hs.rooms.apply_redaction(unit, room, ev, target->event_id);
    event_id = ev.event_id;
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json({{"event_id", event_id}});
}

// POST /import/rooms/{roomId}/leave: a member who wrote here in the old system and had left it (a
// counselor after a hand-over) leaves again once her messages are in, at the time given.
awaitable<Response> post_leave(Homeserver& hs, Request& r) {
  auto admin = require_import_admin(hs, r);
  auto room = require_imported_room(hs, r.param("roomId"));
  const auto& body = r.json_object();
  auto user = require_imported_sender(hs, body, room);
  if (user == hs.service_user_id()) throw http::invalid_param("the service user stays in every room");
  auto ts = req_ts(body, "ts");
  {
    store::WriteUnit unit(hs.db);
    core::Rooms::Backdate at(hs.rooms, ts);
    append_membership(hs, unit, room, user, user, "leave", std::nullopt);
    hs.counseling.audit(unit, admin.user_id, "import.room-leave", room.room_id, {{"user_id", user}});
    unit.release();
  }
  co_await hs.db.commit();
  co_return empty_ok();
}

// POST /import/rooms/{roomId}/read-only: once its history is in, a room the old system had made
// read-only (a stopped group chat) takes messages from nobody but the service user.
awaitable<Response> post_read_only(Homeserver& hs, Request& r) {
  auto admin = require_import_admin(hs, r);
  auto room = require_imported_room(hs, r.param("roomId"));
  if (hs.counseling.consultation(room.room_id)) throw http::invalid_param("a consultation is closed, not made read-only");
  auto pl = hs.rooms.state_content(room.room_id, "m.room.power_levels", "").value_or(object{});
  if (auto* d = pl.if_contains("events_default"); d && d->is_int64() && d->as_int64() >= 100) co_return empty_ok();
  pl["events_default"] = 100;
  {
    store::WriteUnit unit(hs.db);
    hs.rooms.append(unit, room, hs.service_user_id(), "m.room.power_levels", pl, std::string());
    hs.counseling.audit(unit, admin.user_id, "import.room-read-only", room.room_id);
    unit.release();
  }
  co_await hs.db.commit();
  co_return empty_ok();
}

// PUT /import/rooms/{roomId}/pins: the messages pinned in the old system (m.room.pinned_events).
awaitable<Response> put_pins(Homeserver& hs, Request& r) {
  require_import_admin(hs, r);
  auto room = require_imported_room(hs, r.param("roomId"));
  const auto& body = r.json_object();
  auto* p = body.if_contains("pinned");
  if (!p || !p->is_array() || p->as_array().size() > 1000) throw http::bad_json("'pinned' must be a list of event IDs");
  for (const auto& e : p->as_array()) {
    auto ev = e.is_string() ? hs.rooms.event(std::string(e.get_string())) : std::nullopt;
    if (!ev || ev->room_id != room.room_id) throw http::invalid_param("pinned events must be events of this room");
  }
  {
    store::WriteUnit unit(hs.db);
    hs.rooms.append(unit, room, hs.service_user_id(), "m.room.pinned_events", object{{"pinned", p->as_array()}}, std::string());
    unit.release();
  }
  co_await hs.db.commit();
  co_return empty_ok();
}

// POST /import/rooms/{roomId}/read: what a member had read in the old system stays read.
awaitable<Response> post_read(Homeserver& hs, Request& r) {
  require_import_admin(hs, r);
  auto room = require_imported_room(hs, r.param("roomId"));
  const auto& body = r.json_object();
  auto user = require_imported_sender(hs, body, room);
  auto event_id = req_string(body, "event_id");
  auto ev = hs.rooms.event(event_id);
  if (!ev || ev->room_id != room.room_id) throw http::not_found("Unknown event " + event_id);
  {
    store::WriteUnit unit(hs.db);
    hs.receipts.set(unit, room.room_id, user, "m.read", event_id, "");
    hs.account_data.set(unit, user, room.room_id, "m.fully_read", boost::json::serialize(object{{"event_id", event_id}}));
    unit.release();
  }
  co_await hs.db.commit();
  co_return empty_ok();
}

// GET /import/rooms/{roomId}/members: who is in an imported room now (join or invite), so that key
// delivery follows Lotse's membership: someone removed since the import gets no more keys.
awaitable<Response> get_members(Homeserver& hs, Request& r) {
  require_import_admin(hs, r);
  auto room = require_imported_room(hs, r.param("roomId"));
  array out;
  for (const auto& [user, membership] : hs.rooms.members(room.room_id))
    if (membership == "join" || membership == "invite") out.push_back(boost::json::value(user));
  co_return Response::json({{"members", out}});
}

// POST /import/bridge-device: the bridge's own account (role "bridge": it reaches imported accounts
// for key delivery and nothing else; no password) with a new device and access token.
awaitable<Response> post_bridge_device(Homeserver& hs, Request& r) {
  auto admin = require_import_admin(hs, r);
  const std::string user_id = "@" + std::string(core::kBridgeLocalpart) + ":" + hs.config.server_name;
  if (hs.accounts.user_exists(user_id) && hs.accounts.role(user_id) != "bridge")
    throw MatrixError(409, "M_USER_IN_USE", user_id + " exists and is not the bridge's account.");
  core::Session s;
  {
    store::WriteUnit unit(hs.db);
    if (!hs.accounts.user_exists(user_id)) hs.accounts.create_user(unit, user_id, "", std::string("Lotse-Import"), "bridge");
    s = hs.accounts.open_session(unit, user_id, std::nullopt, std::string("lotse-bridge"), r.remote_ip);
    hs.counseling.audit(unit, admin.user_id, "import.bridge-device", user_id, {{"device_id", s.device_id}});
    unit.release();
  }
  co_await hs.db.commit();
  co_return Response::json({{"user_id", s.user_id}, {"device_id", s.device_id}, {"access_token", s.access_token}});
}

// POST /import/close: the migration period is over. From now on the import API (and so the
// bridge) can no longer write anything or speak for anyone; there is no reopening.
awaitable<Response> post_close(Homeserver& hs, Request& r) {
  auto admin = require_import_admin(hs, r);
  const std::string bridge = "@" + std::string(core::kBridgeLocalpart) + ":" + hs.config.server_name;
  {
    store::WriteUnit unit(hs.db);
    hs.imports.close(unit, now_ms());
    // The bridge's devices go too: its tokens stop working and no key leaves its account again.
    if (hs.accounts.role(bridge) == "bridge") remove_all_devices(hs, unit, bridge, std::nullopt);
    hs.counseling.audit(unit, admin.user_id, "import.close", "");
    unit.release();
  }
  co_await hs.db.commit();
  co_return empty_ok();
}

}  // namespace

void register_import_routes(http::Router& router, Homeserver& hs) {
  const std::string base = "/_lotse/admin/v1/import";
  raw_route(router, verb::put, base + "/users/{localpart}", [&hs](Request& r) { return put_user(hs, r); });
  raw_route(router, verb::get, base + "/rooms/{roomId}/members", [&hs](Request& r) { return get_members(hs, r); });
  raw_route(router, verb::post, base + "/close", [&hs](Request& r) { return post_close(hs, r); });
  raw_route(router, verb::post, base + "/bridge-device", [&hs](Request& r) { return post_bridge_device(hs, r); });
  raw_route(router, verb::put, base + "/rooms/{importId}", [&hs](Request& r) { return put_room(hs, r); });
  raw_route(router, verb::put, base + "/rooms/{roomId}/events/{txnId}", [&hs](Request& r) { return put_event(hs, r); });
  raw_route(router, verb::post, base + "/rooms/{roomId}/read", [&hs](Request& r) { return post_read(hs, r); });
  raw_route(router, verb::post, base + "/rooms/{roomId}/leave", [&hs](Request& r) { return post_leave(hs, r); });
  raw_route(router, verb::put, base + "/rooms/{roomId}/pins", [&hs](Request& r) { return put_pins(hs, r); });
  raw_route(router, verb::post, base + "/rooms/{roomId}/read-only", [&hs](Request& r) { return post_read_only(hs, r); });
}

}  // namespace lotse::api
