// Request helpers: query/header access, JSON body parsing, percent-decoding.
#include "server/http/request.hpp"


namespace lotse::http {

std::optional<std::string> Request::query_param(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Request::query_params(const std::string& name) const {
  std::vector<std::string> out;
  auto [a, b] = query.equal_range(name);
  for (auto it = a; it != b; ++it) out.push_back(it->second);
  return out;
}

std::optional<std::string> Request::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Request::access_token() const {
  if (auto h = header("authorization")) {
    std::string_view v = *h;
    if (v.size() > 7 && (v.substr(0, 7) == "Bearer " || v.substr(0, 7) == "bearer ")) return std::string(v.substr(7));
    return std::nullopt;
  }
  return query_param("access_token");
}

const boost::json::object& Request::json_object(const e2ee::JsonLimits& limits) {
  if (!parsed_) {
    // The same limits as every stored value is read with (e2ee/safe_json.hpp).
    try {
      parsed_ = e2ee::parse_limited(body, limits);
    } catch (const e2ee::JsonLimitError& e) {
      if (e.kind == e2ee::JsonLimitError::Kind::syntax) throw MatrixError(400, "M_NOT_JSON", "Content not JSON.");
      throw bad_json(e.what());
    }
  }
  if (!parsed_->is_object()) throw bad_json("The request body must be a JSON object.");
  return parsed_->get_object();
}

Response Response::json(const boost::json::value& v, unsigned status) {
  Response r;
  r.status = status;
  r.body = boost::json::serialize(v);
  return r;
}

Response Response::error(const MatrixError& e) { return json(e.body(), e.status); }

std::string percent_decode(std::string_view s, bool plus_as_space) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else if (s[i] == '+' && plus_as_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace lotse::http
