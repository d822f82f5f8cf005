// A small synchronous Matrix client-server HTTP client (plain HTTP on a trusted network or loopback),
// shared by the programs that talk to a running lotse: the C++ E2EE test client, lotse-admin and the
// bridge.
#pragma once
#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace lotse::client {

// A non-2xx answer, with the Matrix errcode when the server sent one.
struct MatrixRequestError : std::runtime_error {
  MatrixRequestError(unsigned status, std::string errcode, const std::string& message)
      : std::runtime_error(message), status(status), errcode(std::move(errcode)) {}
  unsigned status;
  std::string errcode;
};

class MatrixClient {
 public:
  // `base_url` like "http://127.0.0.1:8008".
  explicit MatrixClient(const std::string& base_url);
  ~MatrixClient();
  MatrixClient(const MatrixClient&) = delete;

  void set_access_token(std::string token) { token_ = std::move(token); }
  const std::string& access_token() const { return token_; }

  struct Reply {
    unsigned status;
    boost::json::value body;
  };
  // Sends the request (JSON body if given); returns whatever the server answered.
  Reply request(boost::beast::http::verb method, const std::string& path,
                const std::optional<boost::json::value>& body = std::nullopt);
  // POSTs raw bytes (a media upload); the answer as request() gives it.
  Reply upload(const std::string& path, std::string bytes, const std::string& content_type);
  // Like request(), but throws MatrixRequestError unless the status is 2xx; returns the JSON object.
  boost::json::object call(boost::beast::http::verb method, const std::string& path,
                           const std::optional<boost::json::value>& body = std::nullopt);

  // Registers with the m.login.dummy flow and keeps the access token. Returns (user_id, device_id).
  std::pair<std::string, std::string> register_user(const std::string& username, const std::string& password);

  static std::string url_encode(const std::string& s);

 private:
  Reply send(boost::beast::http::verb method, const std::string& path, std::optional<std::string> body,
             const std::string& content_type);
  struct Connection;
  std::unique_ptr<Connection> conn_;
  std::string host_, port_;
  std::string token_;
};

}  // namespace lotse::client
