// Push rule evaluation: the specification's examples (client-server API "Push Rules" and the
// appendices' glob and property-path rules) and the default rules on the events Lotse sees.
#include <doctest/doctest.h>

#include "e2ee/safe_json.hpp"
#include "server/core/push_rule_evaluator.hpp"

using namespace lotse::core;

namespace {

boost::json::object global_rules(const std::string& user) {
  return lotse::e2ee::parse_stored_object(default_push_rules(user)).at("global").as_object();
}

boost::json::object ev(const char* json) { return lotse::e2ee::parse_stored_object(json); }

PushContext ctx(const std::string& user, std::int64_t members = 2) {
  PushContext c;
  c.user_id = user;
  c.member_count = members;
  c.sender_power = 0;
  c.notification_level = [](const std::string&) { return std::int64_t{50}; };
  return c;
}

boost::json::object condition_rule(const char* conditions_json) {
  return ev((std::string(R"({"override":[{"rule_id":"t","enabled":true,"actions":["notify"],"conditions":)") +
             conditions_json + "}]}")
                .c_str());
}

bool matches(const char* conditions_json, const char* event_json, PushContext c = ctx("@me:x")) {
  return evaluate_push_rules(condition_rule(conditions_json), ev(event_json), c).notify;
}

}  // namespace

TEST_CASE("glob: the spec's event_match examples") {
  const char* topic = R"([{"kind":"event_match","key":"content.topic","pattern":"lunc?*"}])";
  CHECK(matches(topic, R"({"type":"m.room.topic","content":{"topic":"Lunch plans"}})"));
  CHECK(matches(topic, R"({"type":"m.room.topic","content":{"topic":"LUNCH"}})"));
  CHECK_FALSE(matches(topic, R"({"type":"m.room.topic","content":{"topic":" lunch"}})"));
  CHECK_FALSE(matches(topic, R"({"type":"m.room.topic","content":{"topic":"lunc"}})"));
  CHECK_FALSE(matches(topic, R"({"type":"m.room.topic","content":{"topic":null}})"));
  CHECK_FALSE(matches(topic, R"({"type":"m.room.topic","content":{}})"));

  const char* body = R"([{"kind":"event_match","key":"content.body","pattern":"ex*ple"}])";
  CHECK(matches(body, R"({"type":"m.room.message","content":{"body":"An example event."}})"));
  CHECK(matches(body, R"({"type":"m.room.message","content":{"body":"exple"}})"));
  CHECK(matches(body, R"({"type":"m.room.message","content":{"body":"An exciting triple-whammy"}})"));
  CHECK_FALSE(matches(body, R"({"type":"m.room.message","content":{"body":"Anexample"}})"));
  CHECK_FALSE(matches(body, R"({"type":"m.room.message","content":{"body":"examples"}})"));
}

TEST_CASE("glob: '?' is one character, also beyond ASCII; matching stays linear") {
  CHECK(push_glob_match("d?", "dü", false));
  CHECK_FALSE(push_glob_match("d??", "dü", false));
  CHECK(push_glob_match("*", "", false));
  CHECK_FALSE(push_glob_match("?", "", false));
  CHECK(push_glob_match("a*b*c", "AxxBxxC", false));
  // A pattern that makes a backtracking matcher exponential answers at once here.
  std::string body(60000, 'a');
  CHECK_FALSE(push_glob_match("*a*a*a*a*a*a*a*a*a*a*b", body, true));
  CHECK(push_glob_match("*a*a*a*a*a*a*a*a*a*a*", body, false));
}

TEST_CASE("property paths: escaped dots and backslashes") {
  auto e = ev(R"({"content":{"m.relates_to":{"rel_type":"m.replace"},"m\\foo":1,"a":{"b":2}}})");
  REQUIRE(event_property(e, "content.m\\.relates_to.rel_type"));
  CHECK(event_property(e, "content.m\\.relates_to.rel_type")->as_string() == "m.replace");
  CHECK(event_property(e, "content.m\\\\foo")->as_int64() == 1);
  CHECK(event_property(e, "content.a.b")->as_int64() == 2);
  CHECK(event_property(e, "content.m.relates_to") == nullptr);
  CHECK(event_property(e, "content.a.b.c") == nullptr);
}

TEST_CASE("event_property_is and event_property_contains: the spec's examples") {
  const char* federate = R"([{"kind":"event_property_is","key":"content.m\\.federate","value":true}])";
  CHECK(matches(federate, R"({"type":"m.room.create","content":{"m.federate":true}})"));
  CHECK_FALSE(matches(federate, R"({"type":"m.room.create","content":{"m.federate":"true"}})"));
  CHECK_FALSE(matches(federate, R"({"type":"m.room.create","content":{"m.federate":1}})"));
  const char* alias = R"([{"kind":"event_property_contains","key":"content.alt_aliases","value":"#myroom:example.com"}])";
  CHECK(matches(alias, R"({"content":{"alt_aliases":["#somewhere:example.org","#myroom:example.com"]}})"));
  CHECK_FALSE(matches(alias, R"({"content":{"alt_aliases":[":example.com"]}})"));
  CHECK_FALSE(matches(alias, R"({"content":{"alt_aliases":"#myroom:example.com"}})"));
}

TEST_CASE("room_member_count, sender_notification_permission, unknown conditions") {
  const char* two = R"([{"kind":"room_member_count","is":"2"}])";
  CHECK(matches(two, R"({"type":"x"})", ctx("@me:x", 2)));
  CHECK_FALSE(matches(two, R"({"type":"x"})", ctx("@me:x", 3)));
  CHECK(matches(R"([{"kind":"room_member_count","is":">=3"}])", R"({"type":"x"})", ctx("@me:x", 3)));
  CHECK(matches(R"([{"kind":"room_member_count","is":"<3"}])", R"({"type":"x"})", ctx("@me:x", 2)));
  CHECK_FALSE(matches(R"([{"kind":"room_member_count","is":"<x"}])", R"({"type":"x"})"));
  auto c = ctx("@me:x");
  CHECK_FALSE(matches(R"([{"kind":"sender_notification_permission","key":"room"}])", R"({"type":"x"})", c));
  c.sender_power = 50;
  CHECK(matches(R"([{"kind":"sender_notification_permission","key":"room"}])", R"({"type":"x"})", c));
  CHECK_FALSE(matches(R"([{"kind":"no_such_condition"}])", R"({"type":"x"})"));
}

TEST_CASE("default rules: what notifies and what highlights") {
  auto rules = global_rules("@me:x");
  auto decide = [&](const char* event, PushContext c = ctx("@me:x")) { return evaluate_push_rules(rules, ev(event), c); };

  // Encrypted messages (every consultation): notify, in 1:1 rooms with a sound, never highlighted.
  auto enc = decide(R"({"type":"m.room.encrypted","sender":"@other:x","room_id":"!r:x","content":{"ciphertext":"..."}})");
  CHECK(enc.notify);
  CHECK_FALSE(enc.highlight);
  CHECK(enc.rule_id == ".m.rule.encrypted_room_one_to_one");
  CHECK(decide(R"({"type":"m.room.encrypted","sender":"@o:x","content":{}})", ctx("@me:x", 5)).rule_id == ".m.rule.encrypted");
  // One's own events never notify.
  CHECK_FALSE(decide(R"({"type":"m.room.encrypted","sender":"@me:x","content":{}})").notify);
  // Notices are suppressed; a mention highlights; edits and reactions stay quiet.
  CHECK_FALSE(decide(R"({"type":"m.room.message","sender":"@o:x","content":{"msgtype":"m.notice","body":"hi"}})").notify);
  auto mention = decide(
      R"({"type":"m.room.message","sender":"@o:x","content":{"msgtype":"m.text","body":"hi","m.mentions":{"user_ids":["@me:x"]}}})",
      ctx("@me:x", 5));
  CHECK(mention.notify);
  CHECK(mention.highlight);
  CHECK_FALSE(decide(R"({"type":"m.room.message","sender":"@o:x","content":{"body":"x","m.relates_to":{"rel_type":"m.replace"}}})").notify);
  CHECK_FALSE(decide(R"({"type":"m.reaction","sender":"@o:x","content":{}})").notify);
  // Invites to me notify; other membership changes do not.
  CHECK(decide(R"({"type":"m.room.member","sender":"@o:x","state_key":"@me:x","content":{"membership":"invite"}})").notify);
  CHECK_FALSE(decide(R"({"type":"m.room.member","sender":"@o:x","state_key":"@o:x","content":{"membership":"join"}})").notify);
  // State like a topic change does not notify.
  CHECK_FALSE(decide(R"({"type":"m.room.topic","sender":"@o:x","state_key":"","content":{"topic":"t"}})").notify);
}

TEST_CASE("the shared default template decides for each user as her own copy of the defaults does") {
  auto shared = lotse::e2ee::parse_stored_object(std::string(default_push_rules_template())).at("global").as_object();
  const char* events[] = {
      R"({"type":"m.room.message","sender":"@o:x","content":{"msgtype":"m.text","body":"hi","m.mentions":{"user_ids":["@me:x"]}}})",
      R"({"type":"m.room.message","sender":"@o:x","content":{"msgtype":"m.text","body":"hi","m.mentions":{"user_ids":["@you:x"]}}})",
      R"({"type":"m.room.member","sender":"@o:x","state_key":"@me:x","content":{"membership":"invite"}})",
      R"({"type":"m.room.member","sender":"@o:x","state_key":"@you:x","content":{"membership":"invite"}})",
      R"({"type":"m.room.encrypted","sender":"@o:x","content":{}})",
      R"({"type":"m.room.message","sender":"@o:x","content":{"msgtype":"m.notice","body":"n"}})",
  };
  for (const std::string user : {"@me:x", "@you:x", "@third:x"}) {
    auto own = global_rules(user);
    for (const char* e : events) {
      auto c = ctx(user, 5);
      auto expected = evaluate_push_rules(own, ev(e), c);
      c.rules_are_template = true;
      auto got = evaluate_push_rules(shared, ev(e), c);
      CAPTURE(user);
      CAPTURE(e);
      CHECK(got.rule_id == expected.rule_id);
      CHECK(got.notify == expected.notify);
      CHECK(got.highlight == expected.highlight);
    }
  }
  // Only the template's placeholder stands for her: in rules of her own it is plain text.
  auto c = ctx("@me:x", 5);
  auto mention = ev(R"({"type":"m.room.message","sender":"@o:x","content":{"msgtype":"m.text","body":"hi","m.mentions":{"user_ids":["@me:x"]}}})");
  CHECK(evaluate_push_rules(shared, mention, c).rule_id != ".m.rule.is_user_mention");
}

TEST_CASE("user rules: a muted room (Element's override), a room rule, a disabled rule, dont_notify") {
  auto rules = global_rules("@me:x");
  auto enc = ev(R"({"type":"m.room.encrypted","sender":"@o:x","room_id":"!muted:x","content":{}})");
  // Element mutes a room with an override rule matching its id and no actions.
  rules["override"].as_array().push_back(ev(
      R"({"rule_id":"!muted:x","default":false,"enabled":true,"conditions":[{"kind":"event_match","key":"room_id","pattern":"!muted:x"}],"actions":[]})"));
  CHECK_FALSE(evaluate_push_rules(rules, enc, ctx("@me:x")).notify);
  rules["override"].as_array().back().as_object()["enabled"] = false;
  CHECK(evaluate_push_rules(rules, enc, ctx("@me:x")).notify);
  // Older clients' room rule with the historical dont_notify action.
  rules["room"].as_array().push_back(ev(R"({"rule_id":"!muted:x","default":false,"enabled":true,"actions":["dont_notify"]})"));
  auto d = evaluate_push_rules(rules, enc, ctx("@me:x"));
  CHECK_FALSE(d.notify);
  CHECK(d.rule_id == "!muted:x");
  CHECK(d.actions.empty());
  // A content rule with a word-boundary pattern highlights.
  rules["content"].as_array().push_back(ev(
      R"({"rule_id":"kw","default":false,"enabled":true,"pattern":"termin","actions":["notify",{"set_tweak":"highlight"}]})"));
  auto kw = evaluate_push_rules(rules, ev(R"({"type":"m.room.message","sender":"@o:x","room_id":"!a:x","content":{"body":"Neuer Termin, ok?"}})"),
                                ctx("@me:x", 5));
  CHECK(kw.highlight);
  CHECK(kw.rule_id == "kw");
  // The master rule, once enabled, silences everything.
  rules["override"].as_array()[0].as_object()["enabled"] = true;
  CHECK_FALSE(evaluate_push_rules(rules, enc, ctx("@me:x")).notify);
}

TEST_CASE("a hostile rule set is bounded: long patterns never match, the work per event has a ceiling") {
  CHECK_FALSE(push_glob_match(std::string(300, '*'), "anything", false));
  auto rules = global_rules("@me:x");
  std::string pattern = "*";
  for (int i = 0; i < 127; ++i) pattern += "a*";  // 255 bytes
  for (int i = 0; i < 100; ++i) {
    boost::json::object rule{{"rule_id", "h" + std::to_string(i)}, {"default", false}, {"enabled", true},
                             {"actions", boost::json::array{"notify"}},
                             {"conditions", boost::json::array{boost::json::object{
                                                {"kind", "event_match"}, {"key", "content.body"}, {"pattern", pattern}}}}};
    rules["override"].as_array().push_back(std::move(rule));
  }
  boost::json::object event{{"type", "m.room.message"}, {"sender", "@o:x"}, {"room_id", "!r:x"},
                            {"content", boost::json::object{{"msgtype", "m.text"}, {"body", std::string(60000, 'b')}}}};
  // 100 rules x 60,000 characters x 256 states would be 1.5e9 steps; the budget stops at 2e6, so
  // this returns at once (no timing asserted) and the hostile rules do not match.
  auto d = evaluate_push_rules(rules, event, ctx("@me:x", 5));
  CHECK(d.rule_id.rfind("h", 0) != 0);
}
