// Push rules: the spec's defaults and the /pushrules API over the user's m.push_rules account data.
#pragma once
#include <string>

#include "server/api/common.hpp"

namespace lotse::api {

// The default rule set {"global": {...}} for a user, as JSON text.
std::string default_push_rules(const std::string& user_id);

}  // namespace lotse::api
