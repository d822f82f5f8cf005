// A Matrix error ({"errcode","error"} with an HTTP status) thrown anywhere below the router.
#pragma once
#include <boost/json.hpp>
#include <stdexcept>
#include <string>

namespace lotse::http {

struct MatrixError : std::runtime_error {
  MatrixError(unsigned status, std::string errcode, std::string message, boost::json::object extra = {})
      : std::runtime_error(message), status(status), errcode(std::move(errcode)), extra(std::move(extra)) {}
  unsigned status;
  std::string errcode;
  boost::json::object extra;  // extra fields merged into the body (retry_after_ms, UIA flows, ...)

  boost::json::object body() const {
    boost::json::object o = extra;
    if (errcode.empty()) return o;  // a bare UIA challenge carries only flows/params/session
    o["errcode"] = errcode;
    o["error"] = what();
    return o;
  }
};

inline MatrixError forbidden(std::string msg) { return {403, "M_FORBIDDEN", std::move(msg)}; }
inline MatrixError not_found(std::string msg) { return {404, "M_NOT_FOUND", std::move(msg)}; }
inline MatrixError bad_json(std::string msg) { return {400, "M_BAD_JSON", std::move(msg)}; }
inline MatrixError invalid_param(std::string msg) { return {400, "M_INVALID_PARAM", std::move(msg)}; }
inline MatrixError missing_param(std::string msg) { return {400, "M_MISSING_PARAM", std::move(msg)}; }

}  // namespace lotse::http
