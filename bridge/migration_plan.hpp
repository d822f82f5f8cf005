// What becomes what: the whole old system read into the accounts, agencies, topics, rooms and
// messages Lotse will hold, with every problem found on the way. `plan` prints it; `import` carries
// it out. Joins are on ids only; the order of documents in the export does not matter.
#pragma once
#include <boost/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bridge/old_export.hpp"

namespace lotse::bridge {

struct Secrets {
  std::string master_key, app_key;
  bool present() const { return !master_key.empty() && !app_key.empty(); }
};
// Reads [message_encryption] master_key / app_key from a TOML file (secrets.example.toml's form).
Secrets read_secrets(const std::string& path);

struct PlannedAccount {
  std::string keycloak_id;      // the old id everything else joins on
  std::string rc_user_id;       // may be empty: never opened the chat
  std::string kind;             // seeker | anonymous | counselor
  std::string name;             // decoded username, as the person typed it
  std::string localpart;        // Lotse's
  std::string display_name;
  boost::json::object password; // {"algorithm": "bcrypt", "hash"} or {"algorithm": "pbkdf2-sha256", ...}; empty: none
  std::optional<boost::json::object> totp;
  std::string email;            // empty when the old address was a dummy
  std::string language;
  bool deactivated = false;
  std::int64_t created_ms = 0;
  // counselors
  std::vector<std::int64_t> agency_ids;
  std::vector<std::string> languages;
  std::string absence_message;
  std::vector<std::string> roles;
};

struct PlannedAgency {
  std::int64_t id = 0;
  std::string agency_id;  // Lotse's: "agency-<old id>"
  std::string name, city, description;
  std::int64_t consulting_type = 0;
  std::vector<std::pair<std::string, std::string>> postcode_ranges;
  std::vector<std::string> postal_prefixes;  // the ranges as Lotse's postal-code prefixes
  bool offline = false, team = false, deleted = false;
  std::string external_url;
  std::int64_t created_ms = 0;
};

struct PlannedTopic {
  std::int64_t id = 0;
  std::string topic_id;  // the consulting type's slug
  std::string name;
};

struct PlannedAttachment {
  std::string upload_id, name, mime, kind;  // kind: image | voice | document
  std::string path;                         // file in the export (empty when missing)
  std::int64_t size = 0;
  std::optional<std::int64_t> width, height, duration_ms;
  std::string e2e_key_id;                   // the file holds old end-to-end ciphertext
  std::string e2e_room_key;                 // ... and this room key (from a tmp. key) opens it
};

struct PlannedMessage {
  std::string old_id;
  std::int64_t ts = 0;
  std::string sender_rc;   // Rocket.Chat id; the service user speaks for technical accounts
  bool from_service = false;
  // text | notice | file | deleted | e2e | forward
  std::string kind;
  std::string body;        // decoded text (for e2e: the decrypted text when a key opened it)
  std::string message_type; // events: FURTHER_STEPS, REASSIGN_CONSULTANT, ...
  boost::json::object details;  // event payload (appointment, hand-over, video call, forward origin)
  std::optional<std::string> original_body;  // edited: the text before the edit
  std::optional<std::int64_t> edited_ms;
  std::optional<PlannedAttachment> attachment;
  bool e2e_readable = false;  // e2e: decrypted with a tmp. key
  bool pinned = false;        // pinned in the room (work materials of the exchange)
};

struct PlannedRoom {
  std::string rc_id;
  std::string kind;            // consultation | counselors | exchange | group
  std::string name, topic;
  std::int64_t created_ms = 0;
  bool read_only = false, e2e = false;
  std::vector<std::string> member_rc_ids;  // people only: the room's members at the export
  std::vector<std::string> former_rc_ids;  // wrote here but had left (a counselor after a hand-over)
  std::map<std::string, std::int64_t> last_seen;  // rc id -> ls
  // consultations
  std::int64_t session_id = 0;
  std::string seeker_kc, counselor_kc;  // keycloak ids
  std::vector<std::string> previous_counselors_kc;
  std::int64_t agency = 0, consulting_type = 0;
  std::string status;          // open | closed (Lotse's)
  std::string old_status;      // NEW, IN_PROGRESS, ...
  std::optional<std::int64_t> closed_ms;
  std::vector<PlannedMessage> messages;
};

struct Plan {
  std::vector<PlannedAccount> accounts;
  std::vector<PlannedAgency> agencies;
  std::vector<PlannedTopic> topics;
  std::vector<PlannedRoom> rooms;
  std::vector<Problem> problems;
  std::map<std::string, std::int64_t> counts;  // report figures, "sessions.IN_ARCHIVE", "messages.text", ...
  std::string system_user_rc;

  const PlannedAccount* account_by_rc(const std::string& rc_id) const;
  const PlannedAccount* account_by_kc(const std::string& kc_id) const;
  std::map<std::string, std::size_t> by_rc_, by_kc_;
};

Plan make_plan(const OldExport& ex, const Secrets& secrets);

// The report `plan` prints (and `import` ends with): what would be created, then every problem.
std::string report_text(const Plan& plan);
boost::json::object report_json(const Plan& plan);

}  // namespace lotse::bridge
