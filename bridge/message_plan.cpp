// Each room's messages in the plan: texts decrypted and decoded, edits and deletions, the old
// system's automatic events as notices, attachments with their files, and the old end-to-end
// encrypted messages that a tmp. key in the export opens. Part of make_plan (plan_builder.hpp).
#include <algorithm>
#include <fstream>

#include "bridge/decoders.hpp"
#include "bridge/plan_builder.hpp"

namespace lotse::bridge::plan_detail {
namespace {

// The texts of the old system's automatic events, as notices. German, the platform's language of
// record; the notice carries `de.lotse.notice` (the event type) so an app can show it translated.
std::string notice_text(const std::string& type, const object& details) {
  if (type == "FURTHER_STEPS") return "So geht es weiter: Ihre Nachricht ist angekommen. Eine Beraterin oder ein Berater antwortet Ihnen hier.";
  if (type == "UPDATE_SESSION_DATA") return "Die Angaben zur Beratung wurden aktualisiert.";
  if (type == "E2EE_ACTIVATED") return "Diese Beratung wurde im alten System auf Ende-zu-Ende-Verschlüsselung umgestellt.";
  if (type == "MASTER_KEY_LOST") return "Ein Mitglied dieser Beratung hatte im alten System seinen Schlüssel verloren.";
  if (type == "FINISHED_CONVERSATION") return "Das Gespräch wurde beendet.";
  if (type == "USER_MUTED") return "Eine teilnehmende Person wurde stummgeschaltet.";
  if (type == "USER_UNMUTED") return "Eine teilnehmende Person darf wieder schreiben.";
  if (type == "VIDEOCALL") {
    auto ev = str(details, "eventType");
    if (ev == "CALL_STARTED") return "Ein Videoanruf wurde gestartet.";
    if (ev == "CALL_ENDED") return "Der Videoanruf wurde beendet.";
    if (ev == "IGNORED_CALL") return "Ein Videoanruf wurde nicht angenommen.";
    return "Videoanruf.";
  }
  if (type.starts_with("APPOINTMENT") || type == "INITIAL_APPOINTMENT_DEFINED") {
    std::string when = str(details, "datetime"), what = str(details, "description");
    std::string verb = type == "APPOINTMENT_CANCELLED"     ? "abgesagt"
                       : type == "APPOINTMENT_RESCHEDULED" ? "verschoben"
                                                           : "vereinbart";
    std::string out = "Termin " + verb;
    if (!when.empty()) out += ": " + when;
    if (!what.empty()) out += " (" + what + ")";
    return out + ".";
  }
  if (type == "REASSIGN_CONSULTANT") {
    auto status = str(details, "status");
    auto to = str(details, "toConsultantName");
    if (status == "CONFIRMED") return "Die Beratung wurde an " + to + " übergeben.";
    if (status == "REJECTED") return "Die Übergabe an " + to + " wurde abgelehnt.";
    return "Die Übergabe an " + to + " wurde angefragt.";
  }
  return "Ereignis im alten System: " + type;
}

constexpr std::uintmax_t kMaxUploadBytes = 1ULL << 30;

}  // namespace

std::optional<std::string> PlanBuilder::decrypt_text(const std::string& msg, const std::string& rid, const std::string& id) {
  if (is_server_encrypted(msg) && !secrets.present()) {
    problem("secrets-missing", id, "server-side encrypted text and no --secrets file");
    return std::nullopt;
  }
  auto plain = decrypt_server_text(msg, secrets.master_key, rid, secrets.app_key);
  if (!plain) problem("text-undecryptable", id, "the server-side encrypted text does not decrypt with the given secrets");
  return plain;
}

std::optional<PlannedAttachment> PlanBuilder::attachment(const object& m, const std::string& id) {
  const auto* f = obj(m, "file");
  if (!f) return std::nullopt;
  PlannedAttachment a;
  a.upload_id = str(*f, "_id");
  a.name = str(*f, "name");
  a.mime = str(*f, "type");
  auto it = upload_by_id.find(a.upload_id);
  if (it == upload_by_id.end()) {
    problem("upload-missing", id, "message refers to upload " + a.upload_id + " which is not in the export");
    return a;
  }
  const auto& u = *it->second;
  if (a.name.empty()) a.name = str(u, "name");
  if (a.mime.empty()) a.mime = str(u, "type");
  if (auto* sz = u.if_contains("size"); sz && sz->is_int64()) a.size = sz->get_int64();
  if (const auto* idf = obj(u, "identify"))
    if (const auto* size = obj(*idf, "size")) {
      if (auto* w = size->if_contains("width"); w && w->is_int64()) a.width = w->get_int64();
      if (auto* h = size->if_contains("height"); h && h->is_int64()) a.height = h->get_int64();
    }
  a.kind = a.mime.starts_with("image/") ? "image" : a.mime.starts_with("audio/") ? "voice" : "document";
  auto p = ex.upload_path(a.upload_id, str(u, "extension"));
  std::error_code ec;
  // The file itself, never what a link in the export points to (the bridge's key file, /etc/...).
  auto st = p.empty() ? std::filesystem::file_status{} : std::filesystem::symlink_status(p, ec);
  if (!p.empty() && std::filesystem::is_symlink(st)) {
    problem("upload-not-a-file", a.upload_id, "uploads/ holds a link, not a file, for '" + a.name + "'; not followed, imported as a notice");
  } else if (!p.empty() && std::filesystem::is_regular_file(st) && std::filesystem::file_size(p, ec) > kMaxUploadBytes) {
    problem("upload-too-large", a.upload_id, "'" + a.name + "' is larger than 1 GiB; imported as a notice");
  } else if (p.empty() || !std::filesystem::is_regular_file(st)) {
    problem("upload-file-missing", a.upload_id, "the bytes of '" + a.name + "' are not in uploads/; imported as a notice");
  } else {
    a.path = p.string();
  }
  return a;
}

void PlanBuilder::messages(PlannedRoom& room) {
  auto& list = msgs_by_room[room.rc_id];
  std::vector<const object*> sorted(list.begin(), list.end());
  // Each date parsed once, not at every comparison.
  std::vector<std::pair<std::int64_t, const object*>> by_time;
  for (const auto* m : sorted) by_time.emplace_back(extended_json_date(m->if_contains("ts")).value_or(0), m);
  std::stable_sort(by_time.begin(), by_time.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < by_time.size(); ++i) sorted[i] = by_time[i].second;
  // Room keys of the old end-to-end encryption that the export can open (tmp. form).
  std::map<std::string, std::string> e2e_keys;
  if (room.e2e)
    for (const auto* s : subs_by_room[room.rc_id]) {
      const auto* u = obj(*s, "u");
      if (!u) continue;
      if (auto jwk = open_tmp_room_key(str(*s, "E2EKey"), str(*u, "_id")))
        if (auto kid = room_key_id(*jwk); kid && !e2e_keys.count(*kid)) e2e_keys[*kid] = *room_key_bytes(*jwk);
    }
  std::map<std::string, const object*> first_copy;  // edited message id -> its earliest history copy
  for (const auto* m : sorted)
    if (m->contains("_hidden") && !str(*m, "parent").empty() && !first_copy.count(str(*m, "parent")))
      first_copy[str(*m, "parent")] = m;

  for (const auto* mp : sorted) {
    const auto& m = *mp;
    auto id = str(m, "_id");
    if (m.contains("_hidden")) {
      count("messages.history_copy");
      continue;
    }
    PlannedMessage pm;
    pm.old_id = id;
    pm.ts = extended_json_date(m.if_contains("ts")).value_or(room.created_ms);
    const auto* u = obj(m, "u");
    pm.sender_rc = u ? str(*u, "_id") : "";
    bool technical = technical_rc.count(pm.sender_rc) > 0;
    if (!technical && !plan.by_rc_.count(pm.sender_rc)) {
      problem("sender-unknown", id, "sender " + pm.sender_rc + " has no account; the message is imported as the service user's notice");
      technical = true;
    }
    bool member = std::find(room.member_rc_ids.begin(), room.member_rc_ids.end(), pm.sender_rc) != room.member_rc_ids.end();
    bool former = std::find(room.former_rc_ids.begin(), room.former_rc_ids.end(), pm.sender_rc) != room.former_rc_ids.end();
    if (!technical && !member && !former) room.former_rc_ids.push_back(pm.sender_rc);  // wrote here, left later
    auto t = str(m, "t");
    auto msg = str(m, "msg");
    if (auto e = extended_json_date(m.if_contains("editedAt")); e && t != "rm") pm.edited_ms = e;

    if (t == "rm") {
      pm.kind = "deleted";
      count("messages.deleted");
    } else if (t == "uj" || t == "au" || t == "ru" || t == "ul" || t == "ujt" || t == "r" || t == "room_changed_privacy") {
      count("messages.membership_dropped");
      continue;  // membership is what the room's members say; the history of it is incomplete anyway
    } else if (t == "user-muted" || t == "user-unmuted") {
      pm.kind = "notice";
      pm.from_service = true;
      pm.message_type = t == "user-muted" ? "USER_MUTED" : "USER_UNMUTED";
      pm.body = notice_text(pm.message_type, {});
      count("messages.notice");
    } else if (t == "e2e") {
      pm.kind = "e2e";
      pm.attachment = attachment(m, id);
      if (pm.attachment) {
        // An encrypted upload: its file holds key id + hex ciphertext text; the room key opens it.
        if (!pm.attachment->path.empty()) {
          std::ifstream in(pm.attachment->path, std::ios::binary);
          std::string text((std::istreambuf_iterator<char>(in)), {});
          auto fkid = e2e_key_id(text);
          pm.attachment->e2e_key_id = fkid.value_or("?");
          if (fkid && e2e_keys.count(*fkid) && decrypt_e2e(text, e2e_keys[*fkid])) {
            pm.e2e_readable = true;
            pm.attachment->e2e_room_key = e2e_keys[*fkid];
          }
        }
      } else if (auto kid = e2e_key_id(msg); kid && e2e_keys.count(*kid)) {
        if (auto plain = decrypt_e2e(msg, e2e_keys[*kid]); plain && is_valid_utf8(*plain)) {
          pm.body = *plain;
          pm.e2e_readable = true;
        }
      }
      count(pm.attachment ? "messages.e2e_file" : "messages.e2e");
      if (pm.e2e_readable) count("messages.e2e_decrypted");
      else problem("e2e-unreadable", id, "end-to-end encrypted in the old system and no key in the export opens it; imported as a placeholder");
    } else if (m.contains("alias") && !str(m, "alias").empty()) {
      if (!event(m, room, pm)) continue;
    } else if (m.contains("file")) {
      pm.kind = "file";
      pm.attachment = attachment(m, id);
      if (auto caption = msg.empty() ? std::optional<std::string>("") : decrypt_text(msg, room.rc_id, id)) pm.body = *caption;
      count("messages.file");
    } else if (technical) {
      pm.kind = "notice";
      pm.from_service = true;
      auto text = decrypt_text(msg, room.rc_id, id);
      if (!text) continue;
      pm.body = is_server_encrypted(msg) ? decode_html(*text) : *text;
      count(bots.count(pm.sender_rc) ? "messages.bot" : "messages.notice");
    } else {
      pm.kind = "text";
      auto text = decrypt_text(msg, room.rc_id, id);
      if (!text) continue;
      pm.body = is_server_encrypted(msg) ? decode_html(*text) : *text;
      if (auto it = first_copy.find(id); it != first_copy.end()) {
        auto old = str(*it->second, "msg");
        if (auto o = decrypt_text(old, room.rc_id, str(*it->second, "_id")))
          pm.original_body = is_server_encrypted(old) ? decode_html(*o) : *o;
      }
      count("messages.text");
    }
    if (technical) pm.from_service = true;
    pm.pinned = m.contains("pinned") && m.at("pinned").is_bool() && m.at("pinned").get_bool() && pm.kind != "deleted";
    if (pm.pinned) count("messages.pinned");
    room.messages.push_back(std::move(pm));
  }
}

bool PlanBuilder::event(const object& m, PlannedRoom& room, PlannedMessage& pm) {
  auto id = pm.old_id;
  auto decoded = form_url_decode(str(m, "alias"));
  auto alias = decoded ? parse_object(*decoded) : std::nullopt;
  if (!alias) {
    problem("event-unreadable", id, "the alias of this event is not URL-encoded JSON; dropped");
    return false;
  }
  std::string type;
  if (alias->contains("messageType") || alias->contains("forwardMessageDTO") || alias->contains("videoCallMessageDTO")) {
    type = str(*alias, "messageType");
    if (type.empty()) type = obj(*alias, "forwardMessageDTO") ? "FORWARD" : "VIDEOCALL";
  } else if (alias->contains("message")) {
    type = "FORWARD";  // the older shape: a bare forwarded message
  } else {
    problem("event-unknown", id, "an event of unknown shape; dropped");
    return false;
  }
  pm.message_type = type;
  if (type == "REASSIGN_CONSULTANT_RESET_LAST_MESSAGE") {
    count("messages.technical_dropped");
    return false;
  }
  if (type == "FORWARD") {
    const object* fwd = obj(*alias, "forwardMessageDTO");
    const object& f = fwd ? *fwd : *alias;
    pm.kind = "forward";
    pm.body = str(f, "message");
    if (pm.body.empty()) {
      auto text = decrypt_text(str(m, "msg"), room.rc_id, id);
      pm.body = text ? decode_html(*text) : "";
    }
    pm.details = object{{"username", str(f, "username")}, {"timestamp", str(f, "timestamp")}, {"rc_user_id", str(f, "rcUserId")}};
    if (auto name = decode_username(str(f, "username"))) pm.details["username"] = *name;
    count("messages.forward");
    return true;
  }
  pm.kind = "notice";
  pm.from_service = true;
  if (type == "VIDEOCALL") {
    if (const auto* vc = obj(*alias, "videoCallMessageDTO")) pm.details = *vc;
  } else if (type == "REASSIGN_CONSULTANT") {
    auto text = decrypt_text(str(m, "msg"), room.rc_id, id);
    if (auto args = text ? parse_object(*text) : std::nullopt) {
      pm.details = *args;
      if (str(*args, "status") == "CONFIRMED") {
        auto from = plan.account_by_kc(str(*args, "fromConsultantId"));
        if (from && std::find(room.previous_counselors_kc.begin(), room.previous_counselors_kc.end(), from->keycloak_id) ==
                        room.previous_counselors_kc.end())
          room.previous_counselors_kc.push_back(from->keycloak_id);
      }
    } else {
      problem("event-unreadable", id, "hand-over event whose arguments do not decrypt");
    }
  } else if (auto content = str(*alias, "content"); !content.empty()) {
    if (auto c = parse_object(content)) pm.details = *c;
  }
  pm.body = notice_text(type, pm.details);
  count("messages.event." + type);
  return true;
}

}  // namespace lotse::bridge::plan_detail
