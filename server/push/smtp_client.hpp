// A minimal SMTP submission client for the e-mail digests (RFC 5321, STARTTLS RFC 3207, AUTH PLAIN
// RFC 4954): one message per connection, TLS verified against the system's CAs, time-limited.
#pragma once
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <stdexcept>
#include <string>

namespace lotse::push {

struct SmtpSettings {
  std::string host;
  std::string port = "587";
  bool starttls = true;
  std::string user, password;  // AUTH PLAIN when user is set (only after STARTTLS)
  std::chrono::seconds timeout{20};
  std::string ca_file;  // extra CA certificates (PEM) besides the system's
};

struct SmtpError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Sends `message` (headers and body, CRLF line ends, not dot-stuffed) from `from` to `to`.
// The arguments are references: the caller awaits (no temporaries in co_await, GCC PR 100611).
boost::asio::awaitable<void> smtp_send(const SmtpSettings& settings, const std::string& from, const std::string& to,
                                       const std::string& message);

}  // namespace lotse::push
