// The import run: agencies and topics, accounts, then room by room its members and messages (each
// Megolm-encrypted before it leaves the bridge), read markers last.
#include "bridge/importer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>

#include "bridge/audio_duration.hpp"
#include "bridge/decoders.hpp"
#include "e2ee/attachment.hpp"
#include "e2ee/crypto.hpp"
#include "e2ee/olm.hpp"
#include "server/matrix_client/olm_device.hpp"

namespace lotse::bridge {
namespace {

using boost::json::array;
using boost::json::object;
using verb = boost::beast::http::verb;
using client::MatrixClient;
using client::MatrixRequestError;

std::string enc(const std::string& s) { return MatrixClient::url_encode(s); }

// An upload's bytes, opened without following a link (the plan checked it; the export may change).
std::string read_bytes(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + path + " (a link, or gone since the plan?)");
  std::string out;
  char buf[65536];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      ::close(fd);
      throw std::runtime_error("cannot read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > (1ULL << 30)) {
      ::close(fd);
      throw std::runtime_error(path + " grew past 1 GiB");
    }
  }
  ::close(fd);
  return out;
}

// What a member who signs in later reads for a message the old system had end-to-end encrypted and
// the export cannot open.
const char* kUnreadableE2e =
    "🔒 Diese Nachricht war im alten System Ende-zu-Ende-verschlüsselt und konnte nicht übernommen werden.";

}  // namespace

namespace {
// POST that creates something; 409 M_CONFLICT (made by an earlier run, or by hand) is fine.
void create_unless_exists(MatrixClient& http, const std::string& path, const object& body) {
  try {
    call_with_retry(http, verb::post, path, body);
  } catch (const MatrixRequestError& e) {
    if (e.status != 409) throw;
  }
}
}  // namespace

object call_with_retry(MatrixClient& http, verb method, const std::string& path, const std::optional<boost::json::value>& body) {
  for (int attempt = 0;; ++attempt) {
    auto reply = http.request(method, path, body);
    if (reply.status == 429 && attempt < 50) {
      std::int64_t wait = 1000;
      if (reply.body.is_object())
        if (auto* w = reply.body.as_object().if_contains("retry_after_ms"); w && w->is_int64()) wait = w->as_int64();
      std::this_thread::sleep_for(std::chrono::milliseconds(std::clamp<std::int64_t>(wait, 10, 10000)));
      continue;
    }
    if (reply.status / 100 == 2) return reply.body.is_object() ? reply.body.as_object() : object{};
    std::string errcode, message = boost::json::serialize(reply.body);
    if (reply.body.is_object()) {
      if (auto* e = reply.body.as_object().if_contains("errcode"); e && e->is_string()) errcode = e->get_string();
      if (auto* m = reply.body.as_object().if_contains("error"); m && m->is_string()) message = m->get_string();
    }
    throw MatrixRequestError(reply.status, errcode,
                             std::string(boost::beast::http::to_string(method)) + " " + path + " -> " +
                                 std::to_string(reply.status) + " " + errcode + ": " + message);
  }
}

Importer::Importer(const Plan& plan, StateFile& state, const std::string& server_url, const std::string& admin_token)
    : plan_(plan), state_(state), server_url_(server_url), admin_(server_url) {
  admin_.set_access_token(admin_token);
  for (const auto& r : plan_.rooms) messages_total_ += static_cast<std::int64_t>(r.messages.size());
}

void Importer::show(bool force) {
  if (!progress_) return;
  static auto last = std::chrono::steady_clock::time_point{};
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last < std::chrono::milliseconds(200)) return;
  last = now;
  std::cerr << "\r  rooms " << rooms_seen_ << "/" << plan_.rooms.size() << "  messages " << messages_seen_ << "/"
            << messages_total_ << "   " << std::flush;
}

object Importer::run(bool progress) {
  progress_ = progress && ::isatty(2);
  auto who = call_with_retry(admin_, verb::get, "/_matrix/client/v3/account/whoami");
  std::string me(who.at("user_id").as_string());
  server_name_ = me.substr(me.find(':') + 1);
  if (auto known = state_.meta("server_name"); known && *known != server_name_)
    throw std::runtime_error("this state file belongs to an import into " + *known + ", not " + server_name_);
  state_.set_meta("server_name", server_name_);
  // The same server name is no proof of the same instance: the bridge's device must be known here.
  if (auto token = state_.secret("bridge.token")) {
    MatrixClient probe(server_url_);
    probe.set_access_token(*token);
    auto r = probe.request(verb::get, "/_matrix/client/v3/account/whoami");
    if (r.status == 401)
      throw std::runtime_error("this state file belongs to another Lotse instance (its bridge device is unknown at " + server_url_ +
                               "); use a new --state for a new instance");
  }
  bridge_device();
  agencies_and_topics();
  accounts();
  rooms();
  show(true);
  if (progress_) std::cerr << "\n";
  object out;
  for (const auto& [k, v] : done_) out[k] = v;
  return out;
}

void Importer::bridge_device() {
  if (state_.secret("bridge.olm_account")) return;
  auto dev = call_with_retry(admin_, verb::post, "/_lotse/admin/v1/import/bridge-device", object{});
  std::string user(dev.at("user_id").as_string()), device(dev.at("device_id").as_string()), token(dev.at("access_token").as_string());
  e2ee::Account account;
  MatrixClient http(server_url_);
  http.set_access_token(token);
  client::OlmDevice olm(http, user, device, account);
  olm.publish_keys(50);
  state_.begin();
  state_.set_meta("bridge.user", user);
  state_.set_meta("bridge.device", device);
  state_.set_secret("bridge.token", token);
  state_.set_secret("bridge.olm_account", account.pickle(state_.pickle_key()));
  state_.commit();
  done_["bridge_device"] = 1;
}

void Importer::agencies_and_topics() {
  for (const auto& t : plan_.topics) {
    topic_of_type_[t.id] = t.topic_id;
    if (state_.mapped("topic", std::to_string(t.id))) continue;
    create_unless_exists(admin_, "/_lotse/admin/v1/topics", object{{"topic_id", t.topic_id}, {"name", t.name}});
    state_.map("topic", std::to_string(t.id), t.topic_id);
    done_["topics"]++;
  }
  for (const auto& a : plan_.agencies) {
    if (state_.mapped("agency", std::to_string(a.id))) continue;
    object body{{"agency_id", a.agency_id}, {"name", a.name}, {"city", a.city}};
    create_unless_exists(admin_, "/_lotse/admin/v1/agencies", body);
    state_.map("agency", std::to_string(a.id), a.agency_id);
    done_["agencies"]++;
  }
}

void Importer::accounts() {
  std::map<std::int64_t, std::string> agency_ids;
  std::map<std::int64_t, std::int64_t> agency_type;
  std::map<std::int64_t, std::vector<std::string>> agency_postal;
  for (const auto& a : plan_.agencies) {
    agency_ids[a.id] = a.agency_id;
    agency_type[a.id] = a.consulting_type;
    agency_postal[a.id] = a.postal_prefixes;
  }
  for (const auto& a : plan_.accounts) {
    if (state_.mapped("account", a.keycloak_id)) continue;
    object body{{"role", a.kind == "counselor" ? "counselor" : "seeker"},
                {"display_name", a.display_name},
                {"created_ts", std::max<std::int64_t>(a.created_ms, 946684800000)},
                {"deactivated", a.deactivated}};
    if (!a.password.empty()) body["password"] = a.password;
    if (a.totp) body["totp"] = *a.totp;
    if (!a.email.empty()) body["email"] = a.email;
    if (a.kind == "counselor") {
      object profile{{"languages", array(a.languages.begin(), a.languages.end())}};
      array topics;
      for (auto id : a.agency_ids)
        if (topic_of_type_.count(agency_type[id])) {
          boost::json::value t(topic_of_type_[agency_type[id]]);
          if (std::find(topics.begin(), topics.end(), t) == topics.end()) topics.push_back(t);
        }
      profile["topics"] = topics;
      if (!a.agency_ids.empty() && agency_ids.count(a.agency_ids.front())) profile["agency"] = agency_ids[a.agency_ids.front()];
      // Lotse keeps the area served on the counselor: the postal codes of all her agencies.
      array postal;
      bool everywhere = false;  // an agency for the whole country: no restriction
      for (auto id : a.agency_ids)
        for (const auto& p : agency_postal[id]) {
          if (p.empty()) everywhere = true;
          else postal.push_back(boost::json::value(p));
        }
      profile["postal_codes"] = everywhere ? array{} : postal;
      if (!a.absence_message.empty()) profile["absence_message"] = a.absence_message;
      body["profile"] = profile;
    }
    auto res = call_with_retry(admin_, verb::put, "/_lotse/admin/v1/import/users/" + enc(a.localpart), body);
    state_.map("account", a.keycloak_id, std::string(res.at("user_id").as_string()));
    done_[std::string("accounts.") + (res.at("created").as_bool() ? "created" : "existing")]++;
  }
}

std::string Importer::user_of(const std::string& rc_id) const {
  auto* a = plan_.account_by_rc(rc_id);
  if (!a) return {};
  return "@" + a->localpart + ":" + server_name_;
}

void Importer::rooms() {
  for (const auto& r : plan_.rooms) {
    room(r);
    ++rooms_seen_;
    show();
  }
}

void Importer::room(const PlannedRoom& r) {
  // 1. The room with its members (idempotent under "rc:<old id>").
  array members, former;
  for (const auto& m : r.member_rc_ids)
    if (auto u = user_of(m); !u.empty()) members.push_back(boost::json::value(u));
  for (const auto& m : r.former_rc_ids)
    if (auto u = user_of(m); !u.empty()) former.push_back(boost::json::value(u));
  object body{{"kind", r.kind}, {"name", r.name}, {"topic", r.topic}, {"created_ts", r.created_ms}, {"members", members},
              {"former_members", former}};
  if (r.kind == "consultation") {
    auto* seeker = plan_.account_by_kc(r.seeker_kc);
    auto* counselor = plan_.account_by_kc(r.counselor_kc);
    object c{{"seeker", "@" + seeker->localpart + ":" + server_name_},
             {"counselor", "@" + counselor->localpart + ":" + server_name_},
             {"status", r.status}};
    for (const auto& a : plan_.agencies)
      if (a.id == r.agency) c["agency"] = a.agency_id;
    if (topic_of_type_.count(r.consulting_type)) c["topic"] = topic_of_type_[r.consulting_type];
    if (r.closed_ms) c["closed_ts"] = *r.closed_ms;
    array history;
    for (const auto& m : r.messages)
      if (m.message_type == "REASSIGN_CONSULTANT" && m.details.contains("status") && m.details.at("status") == "CONFIRMED") {
        auto* f = plan_.account_by_kc(m.details.contains("fromConsultantId") ? std::string(m.details.at("fromConsultantId").as_string()) : "");
        auto* t = plan_.account_by_kc(m.details.contains("toConsultantId") ? std::string(m.details.at("toConsultantId").as_string()) : "");
        if (f && t)
          history.push_back(object{{"from", "@" + f->localpart + ":" + server_name_}, {"to", "@" + t->localpart + ":" + server_name_},
                                   {"ts", m.edited_ms.value_or(m.ts)}});
      }
    c["history"] = history;
    std::string topic_name = c.contains("topic") ? std::string(c["topic"].as_string()) : "";
    for (const auto& t : plan_.topics)
      if (t.topic_id == topic_name) topic_name = t.name;
    body["name"] = (topic_name.empty() ? std::string("Beratung") : topic_name) + " · " + seeker->display_name;
    body["consultation"] = c;
  }
  // Every run, also for a room imported before: the server answers the same room and joins members
  // who are new in the export (the cut-over night brings those of the week since the rehearsal).
  std::string import_id = "rc:" + r.rc_id;
  auto res = call_with_retry(admin_, verb::put, "/_lotse/admin/v1/import/rooms/" + enc(import_id), body);
  std::string room_id(res.at("room_id").as_string());
  if (auto mapped = state_.mapped("room", r.rc_id); mapped && *mapped != room_id)
    throw std::runtime_error("room " + r.rc_id + " is " + *mapped + " in the state file but " + room_id + " on the server");
  service_user_ = std::string(res.at("service_user").as_string());
  state_.begin();
  state_.map("room", r.rc_id, room_id);
  state_.set_meta("service_user", service_user_);
  for (const auto& m : members) state_.add_room_member(room_id, std::string(m.as_string()));
  state_.commit();
  if (res.at("created").as_bool()) done_["rooms"]++;
  if (auto* added = res.if_contains("members_added"); added && added->is_int64() && added->as_int64() > 0)
    done_["room_members_added"] += added->as_int64();

  // 2. The messages not imported yet, under one new Megolm session for this run. Its key is in the
  //    state file before the first message leaves, so whatever the server stores can be opened.
  std::vector<const PlannedMessage*> todo;
  for (const auto& m : r.messages) {
    if (state_.mapped("event", m.old_id)) {
      ++messages_seen_;
      continue;
    }
    todo.push_back(&m);
  }
  // The bridge's account is opened only for a room with something to send (a second run sends nothing).
  std::optional<e2ee::Account> account;
  std::string bridge_device = *state_.meta("bridge.device");
  std::optional<e2ee::OutboundGroupSession> group;
  if (!todo.empty()) {
    account.emplace(e2ee::Account::unpickle(state_.pickle_key(), *state_.secret("bridge.olm_account")));
    group.emplace();
    state_.begin();
    state_.add_megolm_key({group->id(), room_id, group->session_key()});
    state_.commit();
  }
  const std::string path = "/_lotse/admin/v1/import/rooms/" + enc(room_id) + "/events/";
  auto send = [&](const std::string& txn, const std::string& sender, std::int64_t ts, const object& content,
                  const std::optional<object>& relates_to) {
    object plain{{"type", "m.room.message"}, {"content", content}, {"room_id", room_id}};
    object encrypted{{"algorithm", client::kMegolmAlgorithm},
                     {"sender_key", account->curve25519()},
                     {"ciphertext", group->encrypt(boost::json::serialize(plain))},
                     {"session_id", group->id()},
                     {"device_id", bridge_device}};
    if (relates_to) encrypted["m.relates_to"] = *relates_to;
    auto res = call_with_retry(admin_, verb::put, path + enc(txn),
                               object{{"sender", sender}, {"ts", ts}, {"type", "m.room.encrypted"}, {"content", encrypted}});
    return std::string(res.at("event_id").as_string());
  };
  std::size_t in_batch = 0;
  state_.begin();
  for (const auto* mp : todo) {
    const auto& m = *mp;
    std::string sender = m.from_service ? service_user_ : user_of(m.sender_rc);
    if (sender.empty()) sender = service_user_;
    object content;
    if (m.kind == "text" || m.kind == "forward") {
      content = object{{"msgtype", "m.text"}, {"body", m.original_body.value_or(m.body)}};
      if (m.kind == "forward") content["de.lotse.forwarded"] = m.details;
    } else if (m.kind == "notice") {
      content = object{{"msgtype", "m.notice"}, {"body", m.body}, {"de.lotse.notice", m.message_type}};
      if (!m.details.empty()) content["de.lotse.details"] = m.details;
    } else if (m.kind == "deleted") {
      content = object{{"msgtype", "m.text"}, {"body", ""}};
    } else if (m.kind == "e2e" && !m.attachment) {
      if (m.e2e_readable) content = object{{"msgtype", "m.text"}, {"body", m.body}};
      else content = object{{"msgtype", "m.text"}, {"body", kUnreadableE2e}, {"de.lotse.legacy_e2e", true}};
    }
    if (m.attachment) {
      const auto& a = *m.attachment;
      std::optional<std::string> bytes;
      if (!a.path.empty()) {
        bytes = read_bytes(a.path);
        // the old client encrypted the file: the room key the export holds opens it (or nothing does)
        if (m.kind == "e2e") bytes = m.e2e_readable ? decrypt_e2e(*bytes, a.e2e_room_key) : std::nullopt;
      }
      if (m.kind == "e2e" && !m.e2e_readable) {
        content = object{{"msgtype", "m.text"}, {"body", std::string(kUnreadableE2e) + " (" + a.name + ")"}, {"de.lotse.legacy_e2e", true}};
      } else if (!bytes) {
        content = object{{"msgtype", "m.notice"},
                         {"body", "Die Datei „" + a.name + "“ fehlt im Export des alten Systems."},
                         {"de.lotse.notice", "FILE_MISSING"},
                         {"de.lotse.details", {{"name", a.name}}}};
      } else {
        auto att = e2ee::encrypt_attachment(*bytes);
        auto up = admin_.upload("/_matrix/media/v3/upload?filename=" + enc(a.name), att.ciphertext, "application/octet-stream");
        for (int i = 0; up.status == 429 && i < 50; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(500));
          up = admin_.upload("/_matrix/media/v3/upload?filename=" + enc(a.name), att.ciphertext, "application/octet-stream");
        }
        if (up.status != 200) throw std::runtime_error("upload of " + a.upload_id + " failed: " + boost::json::serialize(up.body));
        att.file["url"] = up.body.at("content_uri");
        object info{{"mimetype", a.mime}, {"size", static_cast<std::int64_t>(bytes->size())}};
        if (a.width) info["w"] = *a.width;
        if (a.height) info["h"] = *a.height;
        std::string msgtype = a.kind == "image" ? "m.image" : a.kind == "voice" ? "m.audio" : "m.file";
        content = object{{"msgtype", msgtype}, {"body", m.body.empty() ? a.name : m.body}, {"filename", a.name},
                         {"file", att.file}, {"info", info}};
        if (a.kind == "voice") {
          if (auto d = audio_duration_ms(a.mime, *bytes)) {
            content["info"].as_object()["duration"] = *d;
            content["org.matrix.msc1767.audio"] = object{{"duration", *d}};
          }
          content["org.matrix.msc3245.voice"] = object{};
        }
        done_["files"]++;
      }
    }
    auto event_id = send("rc." + m.old_id, sender, m.ts, content, std::nullopt);
    if (m.kind == "deleted") {
      auto res = call_with_retry(admin_, verb::put, path + enc("rc.rm." + m.old_id),
                                 object{{"sender", sender}, {"ts", m.edited_ms.value_or(m.ts)}, {"type", "m.room.redaction"},
                                        {"content", {{"redacts", event_id}}}});
      (void)res;
    } else if (m.original_body && m.edited_ms && (m.kind == "text")) {
      object edit{{"msgtype", "m.text"}, {"body", "* " + m.body}, {"m.new_content", {{"msgtype", "m.text"}, {"body", m.body}}}};
      send("rc.edit." + m.old_id, sender, *m.edited_ms, edit, object{{"rel_type", "m.replace"}, {"event_id", event_id}});
    }
    state_.map("event", m.old_id, event_id);
    state_.map("event_ts", m.old_id, std::to_string(m.ts));
    done_["messages"]++;
    ++messages_seen_;
    show();
    if (++in_batch >= 50) {
      state_.commit();
      state_.begin();
      in_batch = 0;
    }
  }
  state_.commit();

  // 3. Members who wrote here and had left leave again, after their last message.
  for (const auto& f : r.former_rc_ids) {
    auto u = user_of(f);
    if (u.empty() || state_.mapped("left", room_id + "|" + u)) continue;
    std::int64_t last = r.created_ms;
    for (const auto& m : r.messages)
      if (m.sender_rc == f) last = std::max(last, m.ts);
    call_with_retry(admin_, verb::post, "/_lotse/admin/v1/import/rooms/" + enc(room_id) + "/leave", object{{"sender", u}, {"ts", last + 1}});
    state_.map("left", room_id + "|" + u, "1");
  }

  // The room's imported events with their times, looked up once for pins and read markers.
  std::vector<std::pair<const PlannedMessage*, std::string>> imported;
  for (const auto& m : r.messages)
    if (auto e = state_.mapped("event", m.old_id)) imported.emplace_back(&m, *e);

  // 4. What was pinned stays pinned (the exchange's work materials).
  array pins;
  for (const auto& [m, event_id] : imported)
    if (m->pinned) pins.push_back(boost::json::value(event_id));
  if (!pins.empty() && state_.mapped("pins", room_id) != boost::json::serialize(pins)) {
    call_with_retry(admin_, verb::put, "/_lotse/admin/v1/import/rooms/" + enc(room_id) + "/pins", object{{"pinned", pins}});
    state_.map("pins", room_id, boost::json::serialize(pins));
  }

  // 5. A room the old system had made read-only (not a consultation: that is closed) becomes so now.
  if (r.read_only && r.kind != "consultation" && !state_.mapped("read_only", room_id)) {
    call_with_retry(admin_, verb::post, "/_lotse/admin/v1/import/rooms/" + enc(room_id) + "/read-only", object{});
    state_.map("read_only", room_id, "1");
  }

  // 6. What each member had read stays read: the newest message at or before their last visit.
  for (const auto& [rc, seen] : r.last_seen) {
    auto u = user_of(rc);
    if (u.empty() || std::find(r.member_rc_ids.begin(), r.member_rc_ids.end(), rc) == r.member_rc_ids.end()) continue;
    std::string event_id;
    for (const auto& [m, id] : imported)
      if (m->ts <= seen) event_id = id;
    if (event_id.empty() || state_.mapped("read", room_id + "|" + u) == event_id) continue;
    call_with_retry(admin_, verb::post, "/_lotse/admin/v1/import/rooms/" + enc(room_id) + "/read",
                    object{{"sender", u}, {"event_id", event_id}});
    state_.map("read", room_id + "|" + u, event_id);
    done_["read_markers"]++;
  }
}

}  // namespace lotse::bridge
