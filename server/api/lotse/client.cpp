// /_lotse/client/v1: the counseling domain for seekers and counselors — the counselor directory,
// topics and agencies, and consultations.
#include <chrono>
#include <ctime>
#include <map>

#include "server/api/common.hpp"

namespace lotse::api {
namespace {

using boost::json::array;
using boost::json::object;

std::string today() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

object consultation_json(Homeserver& hs, const core::Consultation& c, const std::string& viewer) {
  object o{{"room_id", c.room_id}, {"counselor", c.counselor}, {"agency", c.agency_id}, {"topic", c.topic_id},
           {"status", c.status},   {"created_ts", c.created_ts}, {"last_activity_ts", hs.counseling.last_activity(c.room_id)}};
  if (auto p = hs.counseling.profile(c.counselor)) o["counselor_display_name"] = p->display_name;
  if (viewer != c.seeker) {
    o["seeker"] = c.seeker;
    auto s = hs.accounts.find_user(c.seeker);
    o["seeker_pseudonym"] = s && s->displayname ? *s->displayname : c.seeker;
  }
  // Unread: anything from others after the viewer's read receipt.
  std::int64_t read = hs.receipts.read_up_to(c.room_id, viewer).value_or(0);
  auto st = hs.db.conn().prepare(
      "SELECT count(*) FROM events WHERE room_id = ? AND stream_ordering > ? AND sender != ? "
      "AND type IN ('m.room.message', 'm.room.encrypted')");
  st.bind_all(c.room_id, read, viewer);
  std::int64_t unread = st.step() ? st.int64(0) : 0;
  o["unread_count"] = unread;
  o["membership"] = hs.rooms.membership(c.room_id, viewer);
  return o;
}

awaitable<Response> get_counselors(Homeserver& hs, Request& r) {
  require_auth(hs, r);
  array out;
  std::map<std::string, core::Agency> agencies;
  for (auto& a : hs.counseling.agencies()) agencies.emplace(a.agency_id, std::move(a));
  for (const auto& p : hs.counseling.directory(r.query_param("language"), r.query_param("topic"), r.query_param("postal_code"))) {
    auto o = p.to_json();
    // Where she counsels, so a seeker can choose before starting.
    if (auto a = agencies.find(p.agency_id); a != agencies.end()) {
      o["agency_name"] = a->second.name;
      if (!a->second.city.empty()) o["city"] = a->second.city;
    }
    o["absent_now"] = p.current_absence(today()).has_value();
    out.push_back(std::move(o));
  }
  co_return Response::json({{"counselors", std::move(out)}});
}

awaitable<Response> post_consultation(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  if (!hs.policy.is_seeker(auth.user_id)) throw http::forbidden("Only seekers open consultations.");
  const auto& body = r.json_object();
  auto counselor_id = req_string(body, "counselor");
  auto topic = req_string(body, "topic");
  auto profile = hs.counseling.profile(counselor_id);
  if (!profile || profile->deactivated) throw http::not_found("There is no counselor " + counselor_id + ".");
  if (!hs.counseling.topic_exists(topic)) throw http::invalid_param("Unknown topic " + topic + ".");
  if (hs.counseling.open_consultations_of_seeker(auth.user_id) >= hs.config.counseling.max_open_consultations)
    // de.lotse.reason lets the app say it in the seeker's language.
    throw MatrixError(403, "M_FORBIDDEN",
                      "You already have " + std::to_string(hs.config.counseling.max_open_consultations) +
                          " open consultations. Continue one of them, or ask your counselor to close one.",
                      {{"de.lotse.reason", "too_many_open_consultations"},
                       {"de.lotse.limit", hs.config.counseling.max_open_consultations}});
  check_rate(hs, hs.message_limiter, auth.user_id);
  std::string room_id;
  {
    store::WriteUnit unit(hs.db);
    room_id = hs.consultation_rooms.open(unit, auth.user_id, *profile, topic, today());
    unit.release();
  }
  co_await hs.db.commit();
  auto c = hs.counseling.consultation(room_id);
  co_return Response::json(consultation_json(hs, *c, auth.user_id));
}

awaitable<Response> get_consultations(Homeserver& hs, Request& r) {
  auto auth = require_auth(hs, r);
  array out;
  for (const auto& c : hs.counseling.consultations_of(auth.user_id)) {
    // A counselor who handed a consultation over no longer sees it.
    if (c.seeker != auth.user_id && c.counselor != auth.user_id) continue;
    out.push_back(consultation_json(hs, c, auth.user_id));
  }
  co_return Response::json({{"consultations", std::move(out)}});
}

}  // namespace

void register_lotse_client_routes(http::Router& router, Homeserver& hs) {
  const std::string base = "/_lotse/client/v1";
  raw_route(router, verb::get, base + "/counselors", [&hs](Request& r) { return get_counselors(hs, r); });
  raw_route(router, verb::get, base + "/topics", [&hs](Request& r) -> awaitable<Response> {
    require_auth(hs, r);
    array out;
    // names: the name per language where the instance gives translations (lotse-admin topic update --name-in).
    for (const auto& t : hs.counseling.topics()) out.push_back(t.to_json());
    co_return Response::json({{"topics", std::move(out)}});
  });
  raw_route(router, verb::get, base + "/agencies", [&hs](Request& r) -> awaitable<Response> {
    require_auth(hs, r);
    array out;
    for (const auto& a : hs.counseling.agencies())
      out.push_back(object{{"agency_id", a.agency_id}, {"name", a.name}, {"city", a.city}});
    co_return Response::json({{"agencies", std::move(out)}});
  });
  raw_route(router, verb::post, base + "/consultations", [&hs](Request& r) { return post_consultation(hs, r); });
  raw_route(router, verb::get, base + "/consultations", [&hs](Request& r) { return get_consultations(hs, r); });
}

}  // namespace lotse::api
