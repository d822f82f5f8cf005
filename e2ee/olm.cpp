// libolm wrappers. libolm consumes (overwrites) message buffers passed to decrypt, so inputs are
// copied first; random bytes come from libsodium.
#include "e2ee/olm.hpp"

#include <olm/olm.h>

#include <vector>

#include "e2ee/canonical_json.hpp"
#include "e2ee/crypto.hpp"

namespace lotse::e2ee {
namespace {

std::vector<std::uint8_t> random_buffer(std::size_t n) {
  auto r = random_bytes(n);
  return {r.begin(), r.end()};
}

template <typename F>
std::string read_string(std::size_t length, F&& fill) {
  std::string out(length, '\0');
  std::size_t written = fill(out.data(), out.size());
  if (written == olm_error()) return {};
  out.resize(written);
  return out;
}

}  // namespace

// ---- Account ----

#define CHECK_ACCOUNT(expr)                                                              \
  do {                                                                                   \
    if ((expr) == olm_error()) throw OlmError(olm_account_last_error(account_));        \
  } while (0)

Account::Account() : memory_(new std::uint8_t[olm_account_size()]), account_(olm_account(memory_.get())) {
  auto random = random_buffer(olm_create_account_random_length(account_));
  CHECK_ACCOUNT(olm_create_account(account_, random.data(), random.size()));
}

Account::Account(Empty) : memory_(new std::uint8_t[olm_account_size()]), account_(olm_account(memory_.get())) {}

Account Account::unpickle(std::string_view key, std::string pickled) {
  Account a{Empty{}};
  if (olm_unpickle_account(a.account_, key.data(), key.size(), pickled.data(), pickled.size()) == olm_error())
    throw OlmError(olm_account_last_error(a.account_));
  return a;
}

std::string Account::pickle(std::string_view key) const {
  std::string out(olm_pickle_account_length(account_), '\0');
  CHECK_ACCOUNT(olm_pickle_account(account_, key.data(), key.size(), out.data(), out.size()));
  return out;
}

Account::~Account() {
  if (account_) olm_clear_account(account_);
}

namespace {
boost::json::object identity_keys(::OlmAccount* account) {
  std::string buf(olm_account_identity_keys_length(account), '\0');
  if (olm_account_identity_keys(account, buf.data(), buf.size()) == olm_error())
    throw OlmError(olm_account_last_error(account));
  return boost::json::parse(buf).as_object();
}
}  // namespace

std::string Account::ed25519() const { return std::string(identity_keys(account_).at("ed25519").as_string()); }
std::string Account::curve25519() const { return std::string(identity_keys(account_).at("curve25519").as_string()); }

std::string Account::sign(std::string_view message) const {
  std::string sig(olm_account_signature_length(account_), '\0');
  CHECK_ACCOUNT(olm_account_sign(account_, message.data(), message.size(), sig.data(), sig.size()));
  return sig;
}

void Account::sign_json(boost::json::object& object, const std::string& user_id, const std::string& device_id) const {
  boost::json::object copy = object;
  copy.erase("signatures");
  copy.erase("unsigned");
  std::string signature = sign(canonical_json(copy));
  auto& sigs = object["signatures"];
  if (!sigs.is_object()) sigs = boost::json::object{};
  auto& mine = sigs.as_object()[user_id];
  if (!mine.is_object()) mine = boost::json::object{};
  mine.as_object()["ed25519:" + device_id] = signature;
}

void Account::generate_one_time_keys(std::size_t count) {
  auto random = random_buffer(olm_account_generate_one_time_keys_random_length(account_, count));
  CHECK_ACCOUNT(olm_account_generate_one_time_keys(account_, count, random.data(), random.size()));
}

boost::json::object Account::one_time_keys() const {
  std::string buf(olm_account_one_time_keys_length(account_), '\0');
  CHECK_ACCOUNT(olm_account_one_time_keys(account_, buf.data(), buf.size()));
  auto parsed = boost::json::parse(buf).as_object();
  return parsed["curve25519"].as_object();
}

void Account::generate_fallback_key() {
  auto random = random_buffer(olm_account_generate_fallback_key_random_length(account_));
  CHECK_ACCOUNT(olm_account_generate_fallback_key(account_, random.data(), random.size()));
}

boost::json::object Account::unpublished_fallback_key() const {
  std::string buf(olm_account_unpublished_fallback_key_length(account_), '\0');
  std::size_t n = olm_account_unpublished_fallback_key(account_, buf.data(), buf.size());
  if (n == olm_error()) throw OlmError(olm_account_last_error(account_));
  buf.resize(n);
  return boost::json::parse(buf).as_object()["curve25519"].as_object();
}

void Account::mark_keys_as_published() { olm_account_mark_keys_as_published(account_); }
std::size_t Account::max_one_time_keys() const { return olm_account_max_number_of_one_time_keys(account_); }

// ---- Session ----

Session::Session() : memory_(new std::uint8_t[olm_session_size()]), session_(olm_session(memory_.get())) {}
Session::Session(Session&& o) noexcept : memory_(std::move(o.memory_)), session_(o.session_) { o.session_ = nullptr; }
Session::~Session() {
  if (session_) olm_clear_session(session_);
}

Session Session::outbound(Account& account, const std::string& their_curve25519, const std::string& their_one_time_key) {
  Session s;
  auto random = random_buffer(olm_create_outbound_session_random_length(s.session_));
  if (olm_create_outbound_session(s.session_, account.account_, their_curve25519.data(), their_curve25519.size(),
                                  their_one_time_key.data(), their_one_time_key.size(), random.data(),
                                  random.size()) == olm_error())
    throw OlmError(olm_session_last_error(s.session_));
  return s;
}

Session Session::inbound(Account& account, const std::string& their_curve25519, const std::string& prekey_message) {
  Session s;
  std::string msg = prekey_message;
  if (olm_create_inbound_session_from(s.session_, account.account_, their_curve25519.data(), their_curve25519.size(),
                                      msg.data(), msg.size()) == olm_error())
    throw OlmError(olm_session_last_error(s.session_));
  if (olm_remove_one_time_keys(account.account_, s.session_) == olm_error())
    throw OlmError(olm_account_last_error(account.account_));
  return s;
}

std::string Session::id() const {
  return read_string(olm_session_id_length(session_), [&](char* p, std::size_t n) { return olm_session_id(session_, p, n); });
}

bool Session::matches_inbound(const std::string& their_curve25519, const std::string& prekey_message) const {
  std::string msg = prekey_message;
  return olm_matches_inbound_session_from(session_, their_curve25519.data(), their_curve25519.size(), msg.data(),
                                          msg.size()) == 1;
}

Session::Message Session::encrypt(std::string_view plaintext) {
  int type = static_cast<int>(olm_encrypt_message_type(session_));
  auto random = random_buffer(olm_encrypt_random_length(session_));
  std::string out(olm_encrypt_message_length(session_, plaintext.size()), '\0');
  std::size_t n = olm_encrypt(session_, plaintext.data(), plaintext.size(), random.data(), random.size(), out.data(),
                              out.size());
  if (n == olm_error()) throw OlmError(olm_session_last_error(session_));
  out.resize(n);
  return {type, out};
}

std::string Session::decrypt(int type, const std::string& body) {
  std::string probe = body;
  std::size_t max = olm_decrypt_max_plaintext_length(session_, static_cast<std::size_t>(type), probe.data(), probe.size());
  if (max == olm_error()) throw OlmError(olm_session_last_error(session_));
  std::string msg = body;
  std::string out(max, '\0');
  std::size_t n = olm_decrypt(session_, static_cast<std::size_t>(type), msg.data(), msg.size(), out.data(), out.size());
  if (n == olm_error()) throw OlmError(olm_session_last_error(session_));
  out.resize(n);
  return out;
}

// ---- Megolm ----

OutboundGroupSession::OutboundGroupSession()
    : memory_(new std::uint8_t[olm_outbound_group_session_size()]),
      session_(olm_outbound_group_session(memory_.get())) {
  auto random = random_buffer(olm_init_outbound_group_session_random_length(session_));
  if (olm_init_outbound_group_session(session_, random.data(), random.size()) == olm_error())
    throw OlmError(olm_outbound_group_session_last_error(session_));
}

OutboundGroupSession::~OutboundGroupSession() { olm_clear_outbound_group_session(session_); }

std::string OutboundGroupSession::id() const {
  std::string out(olm_outbound_group_session_id_length(session_), '\0');
  auto n = olm_outbound_group_session_id(session_, reinterpret_cast<std::uint8_t*>(out.data()), out.size());
  if (n == olm_error()) throw OlmError(olm_outbound_group_session_last_error(session_));
  out.resize(n);
  return out;
}

std::string OutboundGroupSession::session_key() const {
  std::string out(olm_outbound_group_session_key_length(session_), '\0');
  auto n = olm_outbound_group_session_key(session_, reinterpret_cast<std::uint8_t*>(out.data()), out.size());
  if (n == olm_error()) throw OlmError(olm_outbound_group_session_last_error(session_));
  out.resize(n);
  return out;
}

std::uint32_t OutboundGroupSession::message_index() const { return olm_outbound_group_session_message_index(session_); }

std::string OutboundGroupSession::encrypt(std::string_view plaintext) {
  std::string out(olm_group_encrypt_message_length(session_, plaintext.size()), '\0');
  auto n = olm_group_encrypt(session_, reinterpret_cast<const std::uint8_t*>(plaintext.data()), plaintext.size(),
                             reinterpret_cast<std::uint8_t*>(out.data()), out.size());
  if (n == olm_error()) throw OlmError(olm_outbound_group_session_last_error(session_));
  out.resize(n);
  return out;
}

InboundGroupSession::InboundGroupSession(const std::string& session_key)
    : memory_(new std::uint8_t[olm_inbound_group_session_size()]), session_(olm_inbound_group_session(memory_.get())) {
  if (olm_init_inbound_group_session(session_, reinterpret_cast<const std::uint8_t*>(session_key.data()),
                                     session_key.size()) == olm_error())
    throw OlmError(olm_inbound_group_session_last_error(session_));
}

InboundGroupSession::InboundGroupSession(InboundGroupSession&& o) noexcept
    : memory_(std::move(o.memory_)), session_(o.session_) {
  o.session_ = nullptr;
}

InboundGroupSession::~InboundGroupSession() {
  if (session_) olm_clear_inbound_group_session(session_);
}

std::string InboundGroupSession::id() const {
  std::string out(olm_inbound_group_session_id_length(session_), '\0');
  auto n = olm_inbound_group_session_id(session_, reinterpret_cast<std::uint8_t*>(out.data()), out.size());
  if (n == olm_error()) throw OlmError(olm_inbound_group_session_last_error(session_));
  out.resize(n);
  return out;
}

InboundGroupSession::Decrypted InboundGroupSession::decrypt(const std::string& ciphertext) {
  std::string probe = ciphertext;
  auto max = olm_group_decrypt_max_plaintext_length(session_, reinterpret_cast<std::uint8_t*>(probe.data()), probe.size());
  if (max == olm_error()) throw OlmError(olm_inbound_group_session_last_error(session_));
  std::string msg = ciphertext;
  std::string out(max, '\0');
  std::uint32_t index = 0;
  auto n = olm_group_decrypt(session_, reinterpret_cast<std::uint8_t*>(msg.data()), msg.size(),
                             reinterpret_cast<std::uint8_t*>(out.data()), out.size(), &index);
  if (n == olm_error()) throw OlmError(olm_inbound_group_session_last_error(session_));
  out.resize(n);
  return {out, index};
}

}  // namespace lotse::e2ee
