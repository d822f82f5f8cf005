// What a handler sees of an HTTP request and what it returns.
#pragma once
#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "e2ee/safe_json.hpp"
#include "server/http/matrix_error.hpp"

namespace lotse::http {

struct Auth {
  std::string user_id;
  std::string device_id;
};

// A request body that was streamed to a temporary file (media uploads). The server deletes the file
// after the handler unless the handler moved it away.
struct UploadedFile {
  std::string path;
  std::uint64_t size = 0;
  std::string sha256_hex;
};

struct Request {
  boost::beast::http::verb method{};
  std::string path;                                      // raw (percent-encoded) path
  std::string route;                                     // the matched route template, for logs
  std::unordered_map<std::string, std::string> params;  // decoded path parameters
  std::multimap<std::string, std::string> query;        // decoded query parameters
  std::unordered_map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string remote_ip;
  std::string request_id;
  std::optional<Auth> auth;
  std::optional<UploadedFile> upload;

  const std::string& param(const std::string& name) const { return params.at(name); }
  std::optional<std::string> query_param(const std::string& name) const;
  std::vector<std::string> query_params(const std::string& name) const;
  std::optional<std::string> header(const std::string& lower_name) const;
  // The access token from the Authorization header or the access_token query parameter.
  std::optional<std::string> access_token() const;
  // The body parsed as a JSON object within e2ee/safe_json.hpp's limits (the body limits unless
  // given); throws M_NOT_JSON / M_BAD_JSON.
  const boost::json::object& json_object(const e2ee::JsonLimits& limits = e2ee::kBodyLimits);

 private:
  std::optional<boost::json::value> parsed_;
};

// A response body served from a file region (media downloads, Range requests).
struct FileRegion {
  std::string path;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct Response {
  unsigned status = 200;
  std::string body;
  std::optional<FileRegion> file;  // when set, the body is this file region instead of `body`
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;

  static Response json(const boost::json::value& v, unsigned status = 200);
  static Response error(const MatrixError& e);
};

// Decodes %XX escapes; in query strings '+' stands for a space.
std::string percent_decode(std::string_view s, bool plus_as_space = false);

}  // namespace lotse::http
