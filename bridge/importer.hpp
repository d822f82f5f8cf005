// `lotse-bridge import`: carries a Plan out against a running Lotse through the admin import API.
// Idempotent under the state file: what is mapped there is skipped, and every server call is
// idempotent under the old ids, so a run killed at any point is completed by the next one. The
// history is Megolm-encrypted here, by the bridge's own device: the server receives ciphertext only.
#pragma once
#include <boost/json.hpp>

#include <string>

#include "bridge/migration_plan.hpp"
#include "bridge/state_file.hpp"
#include "server/matrix_client/matrix_client.hpp"

namespace lotse::bridge {

// Retries 429 answers after the server's retry_after_ms (and a dropped connection once); throws
// MatrixRequestError for any other non-2xx answer.
boost::json::object call_with_retry(client::MatrixClient& http, boost::beast::http::verb method, const std::string& path,
                                    const std::optional<boost::json::value>& body = std::nullopt);

class Importer {
 public:
  Importer(const Plan& plan, StateFile& state, const std::string& server_url, const std::string& admin_token);

  // Runs the import; returns what this run did (created, skipped) by kind.
  boost::json::object run(bool progress);

 private:
  void bridge_device();
  void agencies_and_topics();
  void accounts();
  void rooms();
  void room(const PlannedRoom& r);
  std::string user_of(const std::string& rc_id) const;
  void show(bool force = false);

  const Plan& plan_;
  StateFile& state_;
  std::string server_url_;
  client::MatrixClient admin_;
  std::string server_name_, service_user_;
  std::map<std::string, std::int64_t> done_;
  std::map<std::int64_t, std::string> topic_of_type_;
  std::int64_t messages_total_ = 0, messages_seen_ = 0;
  std::size_t rooms_seen_ = 0;
  bool progress_ = false;
};

}  // namespace lotse::bridge
