// Stored JSON that may be unreadable (see stored_json.hpp).
#include "server/core/stored_json.hpp"

#include "e2ee/safe_json.hpp"
#include "server/log.hpp"

namespace lotse::core {

std::optional<boost::json::value> read_stored_json(std::string_view text, std::string_view what, std::string_view id) {
  try {
    return e2ee::parse_stored(text);
  } catch (const e2ee::JsonLimitError& e) {
    log_line("warn", "unreadable stored JSON skipped", {{"what", what}, {"id", id}, {"error", e.what()},
                                                        {"bytes", text.size()}});
    return std::nullopt;
  }
}

std::optional<boost::json::object> read_stored_object(std::string_view text, std::string_view what,
                                                      std::string_view id) {
  auto v = read_stored_json(text, what, id);
  if (!v) return std::nullopt;
  if (!v->is_object()) {
    log_line("warn", "unreadable stored JSON skipped", {{"what", what}, {"id", id}, {"error", "not an object"}});
    return std::nullopt;
  }
  return std::move(v->get_object());
}

}  // namespace lotse::core
