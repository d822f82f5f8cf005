// Turning a parsed HTTP request header into what handlers see (a separate file so the request
// fuzzer tests the server's own code).
#pragma once
#include <boost/beast/http/message.hpp>

#include <string>

#include "server/http/request.hpp"

namespace lotse::http {

// The path stays percent-encoded (the router decodes each segment); query parameters are decoded
// ('+' as space); header names are lower-cased.
Request request_from_header(const boost::beast::http::request_header<>& req, std::string remote_ip);

}  // namespace lotse::http
