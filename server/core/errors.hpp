// Domain errors raised by core/ (which knows no HTTP); the HTTP layer maps them to Matrix errors.
#pragma once
#include <stdexcept>
#include <string>

namespace lotse::core {

enum class ErrorKind { invalid, forbidden, not_found, too_large };

struct CoreError : std::runtime_error {
  CoreError(ErrorKind kind, std::string errcode, std::string message)
      : std::runtime_error(std::move(message)), kind(kind), errcode(std::move(errcode)) {}
  ErrorKind kind;
  std::string errcode;
};

inline CoreError forbidden(std::string m) { return {ErrorKind::forbidden, "M_FORBIDDEN", std::move(m)}; }
inline CoreError not_found(std::string m) { return {ErrorKind::not_found, "M_NOT_FOUND", std::move(m)}; }
inline CoreError invalid(std::string errcode, std::string m) { return {ErrorKind::invalid, std::move(errcode), std::move(m)}; }

}  // namespace lotse::core
