// The counseling domain without HTTP: agencies, topics, counselor profiles and the directory,
// consultations, the internal exchange, and the audit log.
#pragma once
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "server/store/database.hpp"

namespace lotse::core {

struct Agency {
  std::string agency_id, name, city;
};
struct Topic {
  std::string topic_id, name;
  boost::json::object names;  // translations of name, by language code
  boost::json::object to_json() const { return {{"topic_id", topic_id}, {"name", name}, {"names", names}}; }
};

struct CounselorProfile {
  std::string user_id;
  std::string display_name;
  std::string agency_id;
  std::vector<std::string> languages, topics, postal_codes;
  std::string gender;
  std::string absence_message, absence_from, absence_until;  // dates YYYY-MM-DD
  bool deactivated = false;

  // The absence notice if today (YYYY-MM-DD) falls inside it.
  std::optional<std::string> current_absence(const std::string& today) const;
  boost::json::object to_json() const;
};

struct Consultation {
  std::string room_id, seeker, counselor, agency_id, topic_id, status;
  std::int64_t created_ts = 0;
  std::optional<std::int64_t> closed_ts;
};

class Counseling {
 public:
  explicit Counseling(store::Database& db) : db_(db) {}

  // Agencies and topics
  void add_agency(store::WriteUnit&, const Agency& a);
  std::vector<Agency> agencies();
  bool agency_exists(const std::string& id);
  void add_topic(store::WriteUnit&, const Topic& t);
  void update_topic(store::WriteUnit&, const Topic& t);
  std::optional<Topic> topic(const std::string& id);
  std::vector<Topic> topics();
  bool topic_exists(const std::string& id);

  // Counselors
  void save_profile(store::WriteUnit&, const CounselorProfile& p);
  std::optional<CounselorProfile> profile(const std::string& user_id);
  std::vector<CounselorProfile> counselors();
  // Active counselors matching every given filter (postal codes match by prefix).
  std::vector<CounselorProfile> directory(const std::optional<std::string>& language,
                                          const std::optional<std::string>& topic,
                                          const std::optional<std::string>& postal_code);

  // Consultations
  void add_consultation(store::WriteUnit&, const Consultation& c);
  std::optional<Consultation> consultation(const std::string& room_id);
  std::vector<Consultation> consultations_of(const std::string& user_id);  // as seeker or counselor
  std::vector<Consultation> all_consultations(const std::optional<std::string>& status);
  std::int64_t open_consultations_of_seeker(const std::string& seeker);
  void update_consultation(store::WriteUnit&, const Consultation& c);
  void delete_consultation(store::WriteUnit&, const std::string& room_id);
  // Time of the latest event in the room (ms), for "last activity" and retention.
  std::int64_t last_activity(const std::string& room_id);

  // Internal exchange
  void add_exchange_room(store::WriteUnit&, const std::string& room_id, const std::string& kind);
  std::optional<std::string> exchange_space();
  bool is_exchange_room(const std::string& room_id);
  std::vector<std::string> exchange_rooms();

  // Audit log
  void audit(store::WriteUnit&, const std::string& actor, const std::string& action, const std::string& target,
             const boost::json::object& details = {});
  boost::json::array audit_entries(std::int64_t limit);

 private:
  store::Database& db_;
};

}  // namespace lotse::core
