// The libolm wrappers: signatures that libsodium verifies, an Olm conversation, a Megolm session.
#include <doctest/doctest.h>

#include "e2ee/canonical_json.hpp"
#include "e2ee/crypto.hpp"
#include "e2ee/olm.hpp"

using namespace lotse::e2ee;

TEST_CASE("account keys and signatures verify with libsodium") {
  Account a;
  boost::json::object keys{{"user_id", "@a:hs"}, {"device_id", "DEV"}, {"keys", {{"ed25519:DEV", a.ed25519()}}}};
  a.sign_json(keys, "@a:hs", "DEV");
  CHECK(verify_json(keys, "@a:hs", "ed25519:DEV", a.ed25519()));
  keys["device_id"] = "OTHER";
  CHECK_FALSE(verify_json(keys, "@a:hs", "ed25519:DEV", a.ed25519()));

  a.generate_one_time_keys(5);
  CHECK(a.one_time_keys().size() == 5);
  a.generate_fallback_key();
  CHECK(a.unpublished_fallback_key().size() == 1);
  a.mark_keys_as_published();
  CHECK(a.one_time_keys().empty());
  CHECK(a.unpublished_fallback_key().empty());
}

TEST_CASE("Olm session: pre-key message, reply, wrong recipient") {
  Account alice, bob;
  bob.generate_one_time_keys(1);
  std::string otk(bob.one_time_keys().begin()->value().as_string());
  auto to_bob = Session::outbound(alice, bob.curve25519(), otk);
  auto first = to_bob.encrypt("{\"type\":\"m.room_key\"}");
  CHECK(first.type == 0);
  auto at_bob = Session::inbound(bob, alice.curve25519(), first.body);
  CHECK(at_bob.matches_inbound(alice.curve25519(), first.body));
  CHECK(at_bob.id() == to_bob.id());
  CHECK(at_bob.decrypt(first.type, first.body) == "{\"type\":\"m.room_key\"}");
  CHECK(bob.one_time_keys().empty());  // the used one-time key is gone
  auto reply = at_bob.encrypt("danke");
  CHECK(to_bob.decrypt(reply.type, reply.body) == "danke");

  Account mallory;
  CHECK_THROWS_AS(Session::inbound(mallory, alice.curve25519(), first.body), OlmError);
}

TEST_CASE("Megolm: inbound sessions decrypt with message indexes; tampering is detected") {
  OutboundGroupSession out;
  InboundGroupSession in(out.session_key());
  CHECK(in.id() == out.id());
  auto c0 = out.encrypt("erste Nachricht");
  auto c1 = out.encrypt("zweite Nachricht");
  auto d1 = in.decrypt(c1);
  CHECK(d1.plaintext == "zweite Nachricht");
  CHECK(d1.message_index == 1);
  CHECK(in.decrypt(c0).plaintext == "erste Nachricht");
  std::string tampered = c0;
  tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
  CHECK_THROWS_AS(in.decrypt(tampered), OlmError);
}
