// The builder behind make_plan (migration_plan.hpp), shared by the two files that implement it:
// migration_plan.cpp (accounts, agencies, topics, rooms, the report) and message_plan.cpp (each
// room's messages, events and attachments). Internal to the bridge.
#pragma once
#include <boost/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bridge/migration_plan.hpp"
#include "e2ee/safe_json.hpp"

namespace lotse::bridge::plan_detail {

using boost::json::object;

inline std::string str(const object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}
inline const object* obj(const object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_object() ? &v->get_object() : nullptr;
}
inline std::string get(const SqlRow& r, const char* key) {
  auto it = r.find(key);
  return it == r.end() ? std::string() : it->second;
}
inline bool has(const SqlRow& r, const char* key) { return r.count(key) && !r.at(key).empty(); }
inline std::int64_t to_int(const std::string& s) {
  try {
    return s.empty() ? 0 : std::stoll(s);
  } catch (const std::exception&) {
    return 0;
  }
}
inline std::optional<object> parse_object(std::string_view text) {
  try {
    auto v = e2ee::parse_limited(text);
    if (v.is_object()) return v.as_object();
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

struct PlanBuilder {
  const OldExport& ex;
  const Secrets& secrets;
  Plan plan;
  std::set<std::string> technical_rc, bots;
  std::map<std::string, const object*> room_by_id, upload_by_id;
  std::map<std::string, std::vector<const object*>> subs_by_room, msgs_by_room;
  std::set<std::string> referenced_rooms;
  std::string dummy_suffix, technical_username;

  void problem(std::string kind, std::string id, std::string detail) {
    plan.problems.push_back({std::move(kind), std::move(id), std::move(detail)});
  }
  void count(const std::string& key, std::int64_t n = 1) { plan.counts[key] += n; }
  void index();
  void accounts();
  void credentials(const object& k, PlannedAccount& a);
  void agencies_and_topics();
  std::vector<std::string> people_in(const std::string& rid, PlannedRoom& room);
  PlannedRoom base_room(const object& r, const std::string& kind);
  void rooms();
  std::optional<std::string> decrypt_text(const std::string& msg, const std::string& rid, const std::string& id);
  std::optional<PlannedAttachment> attachment(const object& m, const std::string& id);
  void messages(PlannedRoom& room);
  // An automatic event (alias). Returns false for events that are dropped.
  bool event(const object& m, PlannedRoom& room, PlannedMessage& pm);
};

}  // namespace lotse::bridge::plan_detail
