// Pushers (client-server API "Push Notifications"): where a user's notifications are delivered.
// Only the built-in gateway is accepted (push_delivery), so no notification metadata ever goes to
// a third-party gateway; the gateway delivers by Web Push to the browser's push service.
#pragma once
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/store/database.hpp"

namespace lotse::core {

struct Pusher {
  std::string user_id;
  std::string app_id;
  std::string pushkey;
  std::string device_id;  // the device whose access token set it
  std::string kind;
  std::string app_display_name;
  std::string device_display_name;
  std::optional<std::string> profile_tag;
  std::string lang;
  boost::json::object data;
  std::int64_t created_ts = 0;
};

class Pushers {
 public:
  explicit Pushers(store::Database& db);
  ~Pushers();
  Pushers(const Pushers&) = delete;
  Pushers& operator=(const Pushers&) = delete;

  // Adds or replaces the user's pusher (app_id, pushkey). Unless `append`, the same (app_id, pushkey)
  // of other users is removed when it names the same endpoint (one browser, one account).
  void set(store::WriteUnit&, const Pusher& pusher, bool append);
  bool remove(store::WriteUnit&, const std::string& user_id, const std::string& app_id, const std::string& pushkey);
  bool exists(const std::string& user_id, const std::string& app_id, const std::string& pushkey);
  // Kept in memory per user (every notified recipient of every event is looked up): TEMP triggers
  // on the table drop a user's copy whenever a row of hers changes, whoever wrote it. The reference
  // holds until the next write to the table or the next call.
  const std::vector<Pusher>& of_user(const std::string& user_id);
  std::optional<Pusher> find(const std::string& app_id, const std::string& pushkey);
  std::size_t count_of_user(const std::string& user_id);

 private:
  store::Database& db_;
  std::unordered_map<std::string, std::vector<Pusher>> cache_;
  std::vector<Pusher> uncached_;  // what of_user returns while a write unit is open
};

}  // namespace lotse::core
