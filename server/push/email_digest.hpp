// E-mail digests (issue #14): every few seconds or minutes ([email] check_seconds) the users due a
// digest get "you have N unread messages in M consultations" with a one-click unsubscribe link
// (RFC 8058): no sender, no text, no room name. Runs on the network thread (the database's); the
// SMTP exchange is asynchronous.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <string>

#include "server/config/config.hpp"
#include "server/core/email_digests.hpp"
#include "server/store/database.hpp"

namespace lotse::push {

class EmailDigest {
 public:
  EmailDigest(boost::asio::io_context& io, store::Database& db, core::EmailDigests& digests, const config::Config& config);
  // Starts the periodic loop when [email] host is set.
  void start();
  // The unsubscribe link's token for a user (HMAC-SHA256 under data_dir/email-unsubscribe.key).
  std::string token(const std::string& user_id) const;
  bool token_valid(const std::string& user_id, const std::string& token) const;
  std::string unsubscribe_url(const std::string& user_id) const;
  // The whole message (headers and body) of a digest.
  std::string message(const core::DueDigest& d, const std::string& message_id_domain) const;

 private:
  boost::asio::awaitable<void> run();

  boost::asio::io_context& io_;
  store::Database& db_;
  core::EmailDigests& digests_;
  const config::Config& config_;
  std::string key_;
};

}  // namespace lotse::push
