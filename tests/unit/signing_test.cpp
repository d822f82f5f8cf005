// JSON and event signing against the spec's cryptographic test vectors (appendices), and event IDs.
#include <doctest/doctest.h>

#include "e2ee/canonical_json.hpp"
#include "e2ee/crypto.hpp"
#include "server/core/event_format.hpp"

using namespace lotse;

static e2ee::SigningKey spec_key() {
  auto seed = e2ee::base64_decode("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1");
  REQUIRE(seed);
  return e2ee::SigningKey(*seed, "ed25519:1");
}

TEST_CASE("JSON signing test vectors") {
  auto key = spec_key();
  boost::json::object empty;
  e2ee::sign_json(empty, "domain", key);
  CHECK(empty["signatures"].at("domain").at("ed25519:1") ==
        "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ");
  boost::json::object data{{"one", 1}, {"two", "Two"}};
  e2ee::sign_json(data, "domain", key);
  CHECK(data["signatures"].at("domain").at("ed25519:1") ==
        "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw");
  CHECK(e2ee::verify_json(data, "domain", "ed25519:1", key.public_key_base64()));
  data["one"] = 2;
  CHECK_FALSE(e2ee::verify_json(data, "domain", "ed25519:1", key.public_key_base64()));
}

TEST_CASE("event signing test vectors (redaction algorithm of room version 10)") {
  auto key = spec_key();
  auto minimal = boost::json::parse(R"({"room_id":"!x:domain","sender":"@a:domain","origin":"domain",
    "origin_server_ts":1000000,"signatures":{},"hashes":{},"type":"X","content":{},"prev_events":[],
    "auth_events":[],"depth":3,"unsigned":{"age_ts":1000000}})").as_object();
  core::hash_sign_and_id(minimal, core::RoomVersion::v10, "domain", key);
  CHECK(minimal["hashes"].at("sha256") == "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos");
  CHECK(minimal["signatures"].at("domain").at("ed25519:1") ==
        "KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg");

  auto message = boost::json::parse(R"({"content":{"body":"Here is the message content"},"event_id":"$0:domain",
    "origin":"domain","origin_server_ts":1000000,"type":"m.room.message","room_id":"!r:domain","sender":"@u:domain",
    "signatures":{},"unsigned":{"age_ts":1000000}})").as_object();
  core::hash_sign_and_id(message, core::RoomVersion::v10, "domain", key);
  CHECK(message["hashes"].at("sha256") == "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g");
  CHECK(message["signatures"].at("domain").at("ed25519:1") ==
        "Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA");
}

TEST_CASE("reference-hash event IDs are URL-safe, unpadded and ignore redactable content") {
  auto key = spec_key();
  auto ev = boost::json::parse(R"({"room_id":"!r:domain","sender":"@u:domain","origin_server_ts":1,
    "type":"m.room.message","content":{"body":"secret"},"prev_events":[],"auth_events":[],"depth":1})").as_object();
  auto id = core::hash_sign_and_id(ev, core::RoomVersion::v11, "domain", key);
  CHECK(id.size() == 44);
  CHECK(id[0] == '$');
  CHECK(id.find_first_of("+/=") == std::string::npos);
  // The ID is the hash of the redacted event, so redacting it later does not change the ID.
  auto redacted = core::redact(ev, core::RoomVersion::v11);
  CHECK(core::reference_event_id(redacted, core::RoomVersion::v11) == id);
  CHECK(redacted["content"].as_object().empty());
}

TEST_CASE("redaction algorithm v11 keeps what the spec lists") {
  auto pl = boost::json::parse(R"({"type":"m.room.power_levels","content":{"ban":50,"invite":0,"users":{"@a:x":100},
    "notifications":{"room":50}},"origin":"x","room_id":"!r:x","sender":"@a:x","state_key":""})").as_object();
  auto v11 = core::redact(pl, core::RoomVersion::v11);
  CHECK(v11["content"].as_object().contains("invite"));
  CHECK_FALSE(v11["content"].as_object().contains("notifications"));
  CHECK_FALSE(v11.contains("origin"));
  auto v10 = core::redact(pl, core::RoomVersion::v10);
  CHECK_FALSE(v10["content"].as_object().contains("invite"));
  CHECK(v10.contains("origin"));

  auto create = boost::json::parse(R"({"type":"m.room.create","content":{"room_version":"11","m.federate":false}})").as_object();
  CHECK(core::redact(create, core::RoomVersion::v11)["content"].as_object().size() == 2);
  auto redaction = boost::json::parse(R"({"type":"m.room.redaction","content":{"redacts":"$x","reason":"r"}})").as_object();
  CHECK(core::redact(redaction, core::RoomVersion::v11)["content"] == boost::json::parse(R"({"redacts":"$x"})"));
}

TEST_CASE("event IDs by room version: opaque with the server in v1 and v2, standard base64 in v3, URL-safe from v4") {
  auto key = spec_key();
  auto make = [] {
    return boost::json::parse(R"({"room_id":"!r:domain","sender":"@u:domain","origin_server_ts":1,
      "type":"m.room.message","content":{"body":"?>?>?>"},"prev_events":[],"auth_events":[],"depth":1})").as_object();
  };
  for (auto v : {core::RoomVersion::v1, core::RoomVersion::v2}) {
    auto ev = make();
    auto id = core::hash_sign_and_id(ev, v, "domain", key);
    CHECK(id.front() == '$');
    CHECK(id.ends_with(":domain"));
    CHECK(ev["event_id"] == id.c_str());  // carried in the event, and signed with it
    CHECK(core::reference_event_id(core::redact(ev, v), v) == id);
    auto again = make();
    CHECK(core::hash_sign_and_id(again, v, "domain", key) != id);  // not derived from the content
    ev["event_id"] = "$other:domain";
    CHECK_FALSE(e2ee::verify_json(core::redact(ev, v), "domain", "ed25519:1", key.public_key_base64()));
  }
  // The same bytes hash to the same 32 bytes; only the alphabet differs.
  auto v3 = make(), v4 = make();
  auto id3 = core::hash_sign_and_id(v3, core::RoomVersion::v3, "domain", key);
  auto id4 = core::hash_sign_and_id(v4, core::RoomVersion::v4, "domain", key);
  CHECK_FALSE(v3.contains("event_id"));
  CHECK(id3.size() == 44);
  CHECK(id3.find(':') == std::string::npos);
  auto url_safe = id3;
  for (auto& c : url_safe) c = c == '+' ? '-' : c == '/' ? '_' : c;
  CHECK(url_safe == id4);
}

TEST_CASE("redaction algorithms of the older room versions") {
  auto jr = boost::json::parse(R"({"type":"m.room.join_rules","content":{"join_rule":"restricted","allow":[{"type":"m.room_membership"}],"x":1}})").as_object();
  CHECK(core::redact(jr, core::RoomVersion::v7)["content"] == boost::json::parse(R"({"join_rule":"restricted"})"));
  CHECK(core::redact(jr, core::RoomVersion::v8)["content"].as_object().contains("allow"));
  auto member = boost::json::parse(R"({"type":"m.room.member","content":{"membership":"join","join_authorised_via_users_server":"@a:x","displayname":"A"}})").as_object();
  CHECK(core::redact(member, core::RoomVersion::v8)["content"] == boost::json::parse(R"({"membership":"join"})"));
  CHECK(core::redact(member, core::RoomVersion::v9)["content"].as_object().size() == 2);
  auto aliases = boost::json::parse(R"({"type":"m.room.aliases","state_key":"x","content":{"aliases":["#a:x"],"y":2}})").as_object();
  CHECK(core::redact(aliases, core::RoomVersion::v5)["content"] == boost::json::parse(R"({"aliases":["#a:x"]})"));
  CHECK(core::redact(aliases, core::RoomVersion::v6)["content"].as_object().empty());
  auto create = boost::json::parse(R"({"type":"m.room.create","content":{"creator":"@a:x","room_version":"1"}})").as_object();
  CHECK(core::redact(create, core::RoomVersion::v1)["content"] == boost::json::parse(R"({"creator":"@a:x"})"));
  for (int v = 1; v <= 11; ++v) {
    core::RoomVersion parsed{};
    REQUIRE(core::parse_room_version(std::to_string(v), parsed));
    CHECK(core::number(parsed) == v);
    CHECK(core::to_string(parsed) == std::to_string(v));
  }
  core::RoomVersion out{};
  for (auto bad : {"0", "12", "01", "", "1.0", " 1", "org.matrix.msc2176"}) CHECK_FALSE(core::parse_room_version(bad, out));
}
