// Push rule evaluation; see push_rule_evaluator.hpp and the client-server API "Push Rules".
#include "server/core/push_rule_evaluator.hpp"

#include <cstdint>
#include <vector>

namespace lotse::core {
namespace {

// UTF-8 to code points with ASCII letters folded to lower case ("case-insensitive" is left to the
// implementation by the spec; non-ASCII letters compare exactly). Invalid bytes stand for themselves.
std::vector<std::uint32_t> folded_code_points(std::string_view s) {
  std::vector<std::uint32_t> out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    if (i + len > s.size()) len = 1;
    std::uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    if (cp >= 'A' && cp <= 'Z') cp += 'a' - 'A';
    out.push_back(cp);
    i += len;
  }
  return out;
}

// Wildcards outside the Unicode range, so a literal '*' or '?' in a pattern can never be confused with them.
constexpr std::uint32_t kStar = 0xFFFFFFFF, kAnyOne = 0xFFFFFFFE;
constexpr std::size_t kMaxPatternBytes = 256;
constexpr std::int64_t kMaxSafeInteger = (std::int64_t{1} << 53) - 1;  // canonical JSON's integer range

std::vector<std::uint32_t> pattern_code_points(std::string_view pattern, bool literal) {
  auto p = folded_code_points(pattern);
  if (!literal)
    for (auto& c : p) c = c == '*' ? kStar : c == '?' ? kAnyOne : c;
  return p;
}

bool word_char(std::uint32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';  // already folded
}

// Adds state i and, through any run of '*', the states after it (a '*' may match nothing).
void add_state(const std::vector<std::uint32_t>& p, std::vector<char>& states, std::size_t i) {
  while (i <= p.size() && !states[i]) {
    states[i] = 1;
    if (i < p.size() && p[i] == kStar) ++i;
    else break;
  }
}

// `budget`: steps (value length x pattern length) left for this evaluation; a match that would
// exceed it fails. nullptr: unlimited.
bool glob_match(const std::vector<std::uint32_t>& p, std::string_view value, bool word_boundary, std::int64_t* budget);
bool budgeted_match(std::string_view pattern, std::string_view value, bool word_boundary, std::int64_t& budget) {
  if (pattern.size() > kMaxPatternBytes) return false;
  return glob_match(pattern_code_points(pattern, false), value, word_boundary, &budget);
}

bool equal_scalar(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_string() && b.is_string()) return a.get_string() == b.get_string();
  if (a.is_bool() && b.is_bool()) return a.get_bool() == b.get_bool();
  if (a.is_null() && b.is_null()) return true;
  auto as_int = [](const boost::json::value& v, std::int64_t& out) {
    if (v.is_int64()) return out = v.get_int64(), true;
    if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
      return out = static_cast<std::int64_t>(v.get_uint64()), true;
    return false;
  };
  std::int64_t x = 0, y = 0;
  return as_int(a, x) && as_int(b, y) && x == y && x >= -kMaxSafeInteger && x <= kMaxSafeInteger;
}

bool is_scalar(const boost::json::value& v) {
  return v.is_string() || v.is_bool() || v.is_null() || v.is_int64() || v.is_uint64();
}

bool member_count_matches(const std::string& is, std::int64_t count) {
  std::string_view s = is, op = "==";
  for (std::string_view candidate : {"==", "<=", ">=", "<", ">"})
    if (s.substr(0, candidate.size()) == candidate) {
      op = candidate;
      s.remove_prefix(candidate.size());
      break;
    }
  if (s.empty() || s.size() > 15) return false;
  std::int64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  if (op == "==") return count == n;
  if (op == "<") return count < n;
  if (op == ">") return count > n;
  if (op == "<=") return count <= n;
  return count >= n;
}

// A pattern or value of the shared default rules: the placeholder stands for the user's ID.
std::string_view for_user(std::string_view s, const PushContext& ctx) {
  return ctx.rules_are_template && s == kUserIdPlaceholder ? std::string_view(ctx.user_id) : s;
}

bool condition_holds(const boost::json::object& cond, const boost::json::object& event, const PushContext& ctx,
                     std::int64_t& budget) {
  auto* kind = cond.if_contains("kind");
  if (!kind || !kind->is_string()) return false;
  const auto& k = kind->get_string();
  auto* key = cond.if_contains("key");
  const boost::json::value* prop = key && key->is_string() ? event_property(event, key->get_string()) : nullptr;
  if (k == "event_match") {
    auto* pattern = cond.if_contains("pattern");
    if (!prop || !prop->is_string() || !pattern || !pattern->is_string()) return false;
    return budgeted_match(for_user(pattern->get_string(), ctx), prop->get_string(), key->get_string() == "content.body", budget);
  }
  if (k == "event_property_is") {
    auto* value = cond.if_contains("value");
    return prop && value && is_scalar(*prop) && is_scalar(*value) && equal_scalar(*prop, *value);
  }
  if (k == "event_property_contains") {
    auto* value = cond.if_contains("value");
    if (!prop || !prop->is_array() || !value || !is_scalar(*value)) return false;
    if (ctx.rules_are_template && value->is_string() && value->get_string() == kUserIdPlaceholder) {
      for (const auto& item : prop->get_array())
        if (item.is_string() && item.get_string() == ctx.user_id) return true;
      return false;
    }
    for (const auto& item : prop->get_array())
      if (is_scalar(item) && equal_scalar(item, *value)) return true;
    return false;
  }
  if (k == "contains_display_name") {
    auto* body = event_property(event, "content.body");
    if (ctx.display_name.empty() || !body || !body->is_string()) return false;
    if (ctx.display_name.size() > kMaxPatternBytes) return false;
    return glob_match(pattern_code_points(ctx.display_name, true), body->get_string(), true, &budget);
  }
  if (k == "room_member_count") {
    auto* is = cond.if_contains("is");
    return is && is->is_string() && member_count_matches(std::string(is->get_string()), ctx.member_count);
  }
  if (k == "sender_notification_permission") {
    if (!key || !key->is_string() || !ctx.notification_level) return false;
    return ctx.sender_power >= ctx.notification_level(std::string(key->get_string()));
  }
  return false;  // unknown conditions never match
}

bool rule_matches(const std::string& kind, const boost::json::object& rule, const boost::json::object& event,
                  const PushContext& ctx, std::int64_t& budget) {
  auto* id = rule.if_contains("rule_id");
  if (!id || !id->is_string()) return false;
  if (kind == "room") {
    auto* room = event.if_contains("room_id");
    return room && room->is_string() && room->get_string() == id->get_string();
  }
  if (kind == "sender") {
    auto* sender = event.if_contains("sender");
    return sender && sender->is_string() && sender->get_string() == id->get_string();
  }
  if (kind == "content") {
    auto* pattern = rule.if_contains("pattern");
    auto* body = event_property(event, "content.body");
    return pattern && pattern->is_string() && body && body->is_string() &&
           budgeted_match(pattern->get_string(), body->get_string(), true, budget);
  }
  auto* conditions = rule.if_contains("conditions");
  if (conditions && !conditions->is_array()) return false;
  if (conditions)
    for (const auto& c : conditions->get_array())
      if (!c.is_object() || !condition_holds(c.get_object(), event, ctx, budget)) return false;
  return true;
}

PushDecision decide(const boost::json::object& rule) {
  PushDecision d;
  d.rule_id = rule.at("rule_id").get_string();
  if (auto* actions = rule.if_contains("actions"); actions && actions->is_array())
    for (const auto& a : actions->get_array()) {
      if (a.is_string()) {
        if (a.get_string() == "notify") d.notify = true;
        if (a.get_string() == "dont_notify" || a.get_string() == "coalesce") continue;  // historical
      } else if (a.is_object()) {
        const auto& o = a.get_object();
        auto* tweak = o.if_contains("set_tweak");
        if (tweak && tweak->is_string() && tweak->get_string() == "highlight") {
          auto* v = o.if_contains("value");
          d.highlight = !v || (v->is_bool() && v->get_bool());
        }
      }
      d.actions.push_back(a);
    }
  if (!d.notify) d.highlight = false;
  return d;
}

}  // namespace

const boost::json::value* event_property(const boost::json::object& event, std::string_view path) {
  const boost::json::object* obj = &event;
  std::string part;
  for (std::size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '.') {
      auto* v = obj->if_contains(part);
      if (!v) return nullptr;
      if (i == path.size()) return v;
      if (!v->is_object()) return nullptr;
      obj = &v->get_object();
      part.clear();
    } else if (path[i] == '\\' && i + 1 < path.size() && (path[i + 1] == '.' || path[i + 1] == '\\')) {
      part += path[++i];
    } else {
      part += path[i];
    }
  }
  return nullptr;
}

bool push_glob_match(std::string_view pattern, std::string_view value, bool word_boundary) {
  // The API stores no longer pattern (push_rules.cpp); one that got in another way never matches,
  // so no rule can make the evaluation of other people's events expensive.
  if (pattern.size() > kMaxPatternBytes) return false;
  return glob_match(pattern_code_points(pattern, false), value, word_boundary, nullptr);
}

namespace {
// A simulation of the pattern's automaton over the value: linear in value × pattern, so a long body
// or a pattern full of '*' cannot make it backtrack exponentially.
bool glob_match(const std::vector<std::uint32_t>& p, std::string_view value_text, bool word_boundary,
                std::int64_t* budget) {
  if (budget) {
    auto cost = static_cast<std::int64_t>((value_text.size() + 1) * (p.size() + 1));
    if (cost > *budget) return false;
    *budget -= cost;
  }
  auto v = folded_code_points(value_text);
  std::vector<char> states(p.size() + 1, 0), next(p.size() + 1, 0);
  auto starts_here = [&](std::size_t i) { return !word_boundary ? i == 0 : i == 0 || !word_char(v[i - 1]); };
  auto ends_here = [&](std::size_t i) { return !word_boundary ? i == v.size() : i == v.size() || !word_char(v[i]); };
  for (std::size_t i = 0;; ++i) {
    if (starts_here(i)) add_state(p, states, 0);
    if (states[p.size()] && ends_here(i)) return true;
    if (i == v.size()) return false;
    std::fill(next.begin(), next.end(), 0);
    bool any = false;
    for (std::size_t s = 0; s < p.size(); ++s) {
      if (!states[s]) continue;
      if (p[s] == kStar) add_state(p, next, s), any = true;
      else if (p[s] == kAnyOne || p[s] == v[i]) add_state(p, next, s + 1), any = true;
    }
    states.swap(next);
    if (!any && !word_boundary) return false;
  }
}
}  // namespace

PushDecision evaluate_push_rules(const boost::json::object& rules, const boost::json::object& event,
                                 const PushContext& ctx) {
  auto* sender = event.if_contains("sender");
  if (sender && sender->is_string() && sender->get_string() == ctx.user_id) return {};
  // What matching may cost for one recipient of one event: the defaults need a few hundred steps, a
  // hostile rule set hits the limit (its remaining glob conditions then do not match).
  std::int64_t budget = 2'000'000;
  for (const std::string kind : {"override", "content", "room", "sender", "underride"}) {
    auto* list = rules.if_contains(kind);
    if (!list || !list->is_array()) continue;
    for (const auto& r : list->get_array()) {
      if (!r.is_object()) continue;
      const auto& rule = r.get_object();
      auto* enabled = rule.if_contains("enabled");
      if (enabled && enabled->is_bool() && !enabled->get_bool()) continue;
      if (rule_matches(kind, rule, event, ctx, budget)) return decide(rule);
    }
  }
  return {};
}

}  // namespace lotse::core
