// Push rules: the /pushrules API over the user's m.push_rules account data.
#pragma once
#include <string>

#include "server/api/common.hpp"
#include "server/core/push_rule_evaluator.hpp"

namespace lotse::api {

using core::default_push_rules;

}  // namespace lotse::api
