// /pushrules: reads and edits the m.push_rules account data (which /sync also delivers).
#include "server/api/client/push_rules.hpp"
#include "server/core/stored_json.hpp"

namespace lotse::api {
namespace {

const char* kKinds[] = {"override", "content", "room", "sender", "underride"};

bool valid_kind(const std::string& k) {
  for (auto* kind : kKinds)
    if (k == kind) return true;
  return false;
}

boost::json::object load_rules(Homeserver& hs, const std::string& user_id) {
  auto text = hs.account_data.get(user_id, "", "m.push_rules").value_or(default_push_rules(user_id));
  auto v = core::read_stored_object(text, "m.push_rules", user_id);
  if (!v || !v->contains("global")) return e2ee::parse_stored_object(default_push_rules(user_id));
  return std::move(*v);
}

awaitable<void> save_rules(Homeserver& hs, const std::string& user_id, const boost::json::object& rules) {
  {
    store::WriteUnit unit(hs.db);
    hs.account_data.set(unit, user_id, "", "m.push_rules", boost::json::serialize(rules));
    unit.release();
  }
  co_await hs.db.commit();
}

boost::json::array& kind_array(boost::json::object& rules, const std::string& kind) {
  auto& global = rules["global"].as_object();
  auto& arr = global[kind];
  if (!arr.is_array()) arr = boost::json::array{};
  return arr.as_array();
}

boost::json::object* find_rule(boost::json::object& rules, const std::string& kind, const std::string& id) {
  for (auto& r : kind_array(rules, kind))
    if (r.is_object() && r.as_object()["rule_id"] == boost::json::value(id)) return &r.as_object();
  return nullptr;
}

// Every event anyone sends into a room is evaluated against each member's rules on the request
// thread, so what a user may store is bounded: short patterns and keys, few conditions, few rules.
constexpr std::size_t kMaxPattern = 256, kMaxConditions = 16, kMaxUserRules = 100, kMaxActionsBytes = 1024;

void check_rule_limits(const boost::json::object& rule) {
  auto short_string = [](const boost::json::value* v, const char* what) {
    if (v && v->is_string() && v->get_string().size() > kMaxPattern)
      throw http::invalid_param(std::string(what) + " must be at most 256 bytes");
  };
  short_string(rule.if_contains("pattern"), "pattern");
  if (auto* c = rule.if_contains("conditions"); c && c->is_array()) {
    if (c->get_array().size() > kMaxConditions) throw http::invalid_param("at most 16 conditions per rule");
    for (const auto& cond : c->get_array()) {
      if (!cond.is_object()) throw http::bad_json("conditions must be objects");
      for (const char* k : {"pattern", "key", "is", "kind"}) short_string(cond.get_object().if_contains(k), k);
      if (auto* v = cond.get_object().if_contains("value"); v && v->is_string() && v->get_string().size() > kMaxPattern)
        throw http::invalid_param("value must be at most 256 bytes");
    }
  }
  if (boost::json::serialize(rule.at("actions")).size() > kMaxActionsBytes)
    throw http::invalid_param("actions must be at most 1 KiB");
}

std::size_t user_rule_count(boost::json::object& rules) {
  std::size_t n = 0;
  for (auto* kind : kKinds)
    for (auto& r : kind_array(rules, kind))
      if (r.is_object() && !(r.as_object()["rule_id"].is_string() && r.as_object()["rule_id"].as_string().starts_with(".")))
        ++n;
  return n;
}

// The spec's actions: "notify", the obsolete "dont_notify" and "coalesce" (ignored), and set_tweak.
void check_actions(const boost::json::array& actions) {
  for (const auto& a : actions) {
    if (a.is_string() && (a.get_string() == "notify" || a.get_string() == "dont_notify" || a.get_string() == "coalesce")) continue;
    if (a.is_object() && a.get_object().if_contains("set_tweak") && a.get_object().at("set_tweak").is_string()) continue;
    throw http::invalid_param("Unknown push rule action " + boost::json::serialize(a) + ".");
  }
}

// A path that names no rule (no scope, no kind, no rule id, no trailing slash where a list is
// meant, an unknown attribute): 400, as the push rules API's paths have it.
MatrixError unrecognised_path(const std::string& what) { return MatrixError(400, "M_UNRECOGNIZED", what); }

void check_scope(const Request& r) {
  if (r.param("scope") != "global") throw http::invalid_param("Only the global scope is supported.");
  if (!valid_kind(r.param("kind"))) throw http::invalid_param("Unknown rule kind " + r.param("kind"));
}

awaitable<Response> put_rule(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  check_scope(r);
  const auto& kind = r.param("kind");
  const auto& id = r.param("ruleId");
  if (!id.empty() && id[0] == '.') throw http::invalid_param("Server-default rules cannot be replaced.");
  if (id.find('/') != std::string::npos || id.find('\\') != std::string::npos)
    throw http::invalid_param("rule_id must not contain slashes");
  const auto& body = r.json_object();
  auto* actions = body.if_contains("actions");
  if (!actions || !actions->is_array()) throw http::missing_param("missing 'actions'");
  check_actions(actions->get_array());
  boost::json::object rule{{"rule_id", id}, {"default", false}, {"enabled", true}, {"actions", *actions}};
  if (kind == "override" || kind == "underride") {
    auto* conditions = body.if_contains("conditions");
    rule["conditions"] = conditions && conditions->is_array() ? *conditions : boost::json::array{};
  } else if (kind == "content") {
    rule["pattern"] = req_string(body, "pattern");
  }
  if (id.empty() || id.size() > 255) throw http::invalid_param("rule_id must be 1 to 255 bytes");
  check_rule_limits(rule);
  auto rules = load_rules(hs, auth.user_id);
  auto& arr = kind_array(rules, kind);
  for (auto it = arr.begin(); it != arr.end(); ++it)
    if (it->is_object() && it->as_object()["rule_id"] == boost::json::value(id)) {
      arr.erase(it);
      break;
    }
  if (user_rule_count(rules) >= kMaxUserRules) throw MatrixError(400, "M_LIMIT_EXCEEDED", "At most 100 push rules of your own.");
  // Without before/after a new user rule gets the highest priority of its kind (below .m.rule.master).
  auto pos = arr.begin();
  if (kind == "override" && !arr.empty() && arr.front().as_object()["rule_id"] == boost::json::value(".m.rule.master"))
    ++pos;
  if (auto before = r.query_param("before")) {
    pos = arr.end();
    for (auto it = arr.begin(); it != arr.end(); ++it)
      if (it->as_object()["rule_id"] == boost::json::value(*before)) pos = it;
    if (pos == arr.end()) throw http::not_found("Unknown rule " + *before);
  } else if (auto after = r.query_param("after")) {
    pos = arr.end();
    for (auto it = arr.begin(); it != arr.end(); ++it)
      if (it->as_object()["rule_id"] == boost::json::value(*after)) pos = it + 1;
    if (pos == arr.end() && (arr.empty() || arr.back().as_object()["rule_id"] != boost::json::value(*after)))
      throw http::not_found("Unknown rule " + *after);
  }
  arr.insert(pos, rule);
  co_await save_rules(hs, auth.user_id, rules);
  co_return empty_ok();
}

awaitable<Response> rule_attribute(Homeserver& hs, Request& r, std::string attr, bool write) {
  auto auth = require_auth(hs, r);
  check_scope(r);
  auto rules = load_rules(hs, auth.user_id);
  auto* rule = find_rule(rules, r.param("kind"), r.param("ruleId"));
  if (!rule) throw http::not_found("Unknown push rule.");
  if (!write) {
    if (attr.empty()) co_return Response::json(*rule);
    co_return Response::json({{attr, (*rule)[attr]}});
  }
  const auto& body = r.json_object();
  auto* v = body.if_contains(attr);
  if (!v || (attr == "enabled" && !v->is_bool()) || (attr == "actions" && !v->is_array()))
    throw http::bad_json("missing or invalid '" + attr + "'");
  (*rule)[attr] = *v;
  if (attr == "actions" && boost::json::serialize(*v).size() > kMaxActionsBytes)
    throw http::invalid_param("actions must be at most 1 KiB");
  co_await save_rules(hs, auth.user_id, rules);
  co_return empty_ok();
}

}  // namespace

void register_push_rule_routes(http::Router& router, Homeserver& hs) {
  auto all = [&hs](Request& r) -> awaitable<Response> {
    const auto& auth = require_auth(hs, r);
    co_return Response::json(load_rules(hs, auth.user_id));
  };
  // GET /pushrules/ (all), /pushrules/global/ (the scope) and /pushrules/global/{kind}/ (one kind's
  // list, as Synapse serves it); without the trailing slash the path names nothing.
  client_route(router, verb::get, "/pushrules/", all);
  client_route(router, verb::get, "/pushrules/global/", [&hs](Request& r) -> awaitable<Response> {
    const auto& auth = require_auth(hs, r);
    co_return Response::json(load_rules(hs, auth.user_id)["global"]);
  });
  client_route(router, verb::get, "/pushrules/{scope}/", [&hs](Request& r) -> awaitable<Response> {
    require_auth(hs, r);
    throw unrecognised_path("Only the global scope is supported.");
  });
  client_route(router, verb::get, "/pushrules/{scope}/{kind}/", [&hs](Request& r) -> awaitable<Response> {
    const auto& auth = require_auth(hs, r);
    if (r.param("scope") != "global") throw unrecognised_path("Only the global scope is supported.");
    if (!valid_kind(r.param("kind"))) throw unrecognised_path("Unknown rule kind " + r.param("kind"));
    auto rules = load_rules(hs, auth.user_id);
    co_return Response::json(kind_array(rules, r.param("kind")));
  });
  for (auto method : {verb::get, verb::put, verb::delete_}) {
    for (const char* path : {"/pushrules/{scope}", "/pushrules/{scope}/{kind}"})
      client_route(router, method, path, [&hs](Request& r) -> awaitable<Response> {
        require_auth(hs, r);
        throw unrecognised_path("A push rule path is /pushrules/global/{kind}/{ruleId}; lists end in '/'.");
      });
    if (method != verb::get)
      for (const char* path : {"/pushrules/", "/pushrules/{scope}/", "/pushrules/{scope}/{kind}/"})
        client_route(router, method, path, [&hs](Request& r) -> awaitable<Response> {
          require_auth(hs, r);
          throw unrecognised_path("A push rule path is /pushrules/global/{kind}/{ruleId}.");
        });
  }
  client_route(router, verb::get, "/pushrules/{scope}/{kind}/{ruleId}",
               [&hs](Request& r) { return rule_attribute(hs, r, "", false); });
  client_route(router, verb::put, "/pushrules/{scope}/{kind}/{ruleId}", [&hs](Request& r) { return put_rule(hs, r); });
  client_route(router, verb::delete_, "/pushrules/{scope}/{kind}/{ruleId}", [&hs](Request& r) -> awaitable<Response> {
    auto auth = require_auth(hs, r);
    check_scope(r);
    if (!r.param("ruleId").empty() && r.param("ruleId")[0] == '.')
      throw http::invalid_param("Server-default rules cannot be deleted.");
    auto rules = load_rules(hs, auth.user_id);
    auto& arr = kind_array(rules, r.param("kind"));
    bool found = false;
    for (auto it = arr.begin(); it != arr.end(); ++it)
      if (it->as_object()["rule_id"] == boost::json::value(r.param("ruleId"))) {
        arr.erase(it);
        found = true;
        break;
      }
    if (!found) throw http::not_found("Unknown push rule.");
    co_await save_rules(hs, auth.user_id, rules);
    co_return empty_ok();
  });
  for (std::string attr : {"enabled", "actions"}) {
    client_route(router, verb::get, "/pushrules/{scope}/{kind}/{ruleId}/" + attr,
                 [&hs, attr](Request& r) { return rule_attribute(hs, r, attr, false); });
    client_route(router, verb::put, "/pushrules/{scope}/{kind}/{ruleId}/" + attr,
                 [&hs, attr](Request& r) { return rule_attribute(hs, r, attr, true); });
  }
  for (auto method : {verb::get, verb::put})
    client_route(router, method, "/pushrules/{scope}/{kind}/{ruleId}/{attr}", [&hs](Request& r) -> awaitable<Response> {
      require_auth(hs, r);
      throw unrecognised_path("A push rule has the attributes enabled and actions, not " + r.param("attr") + ".");
    });
}

}  // namespace lotse::api
