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
