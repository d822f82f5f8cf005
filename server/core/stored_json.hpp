// Reading JSON the server stored earlier. Every stored value passed e2ee/safe_json.hpp's body limits
// when it came in, so it reads back; a row that still cannot be read (written by an older version,
// or damaged) is logged with what it was and skipped by the caller: it costs one item, never a
// whole /sync, /messages or export.
#pragma once
#include <boost/json.hpp>

#include <optional>
#include <string_view>

namespace lotse::core {

// nullopt (and a warning in the log naming `what` and `id`, never the content) when unreadable.
std::optional<boost::json::value> read_stored_json(std::string_view text, std::string_view what, std::string_view id);
// The same for values that must be objects; anything else counts as unreadable.
std::optional<boost::json::object> read_stored_object(std::string_view text, std::string_view what,
                                                      std::string_view id);

}  // namespace lotse::core
