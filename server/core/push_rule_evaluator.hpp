// Push rule evaluation (client-server API "Push Rules"): which rule of a user's rule set matches an
// event, and so whether it notifies and highlights. Pure functions over JSON; the caller supplies the
// room facts a condition may ask for (member count, power levels, display name).
#pragma once
#include <boost/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace lotse::core {

// The server-default rule set {"global": {...}} for a user, as JSON text.
std::string default_push_rules(const std::string& user_id);
// The same for every user, with kUserIdPlaceholder where the user's ID goes: parsed once and shared by
// all users who keep the defaults (evaluated with PushContext::rules_are_template).
std::string_view default_push_rules_template();
inline constexpr std::string_view kUserIdPlaceholder = "[the user's Matrix ID]";

struct PushContext {
  std::string user_id;
  bool rules_are_template = false;   // the rules are default_push_rules_template(): its placeholder is user_id
  std::string display_name;          // the user's display name in the room ("" when none)
  std::int64_t member_count = 0;     // joined members
  std::int64_t sender_power = 0;     // the sender's power level in the room
  // The power level required to notify for `key` (power_levels.notifications, default 50).
  std::function<std::int64_t(const std::string& key)> notification_level;
};

struct PushDecision {
  bool notify = false;
  bool highlight = false;
  std::string rule_id;            // the matching rule ("" when none matched)
  boost::json::array actions;     // its actions, historical ones (dont_notify, coalesce) removed
};

// Evaluates `rules` (the "global" object of m.push_rules: override, content, room, sender, underride)
// against a client-format event. The user's own events never notify.
PushDecision evaluate_push_rules(const boost::json::object& rules, const boost::json::object& event,
                                 const PushContext& ctx);

// Glob matching (appendix "Glob-style matching": * and ?), ASCII case-insensitive. With
// `word_boundary` the pattern may match any substring that starts and ends at a word boundary.
bool push_glob_match(std::string_view pattern, std::string_view value, bool word_boundary);

// The value at a dot-separated property path ("content.m\\.relates_to.rel_type"), or nullptr.
const boost::json::value* event_property(const boost::json::object& event, std::string_view path);

}  // namespace lotse::core
