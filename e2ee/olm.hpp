// RAII wrappers over libolm: an Olm account (identity, one-time and fallback keys), Olm sessions
// (pairwise, for to-device key sharing) and Megolm group sessions (room messages). Buffers stay
// inside the objects; only strings (keys, ciphertext, plaintext) come out. Every failure throws
// OlmError with libolm's reason.
//
// libolm is deprecated upstream in favour of vodozemac; these wrappers exist for the C++ test client
// and the bridge, not for the server, which never encrypts or decrypts.
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include <boost/json.hpp>

struct OlmAccount;
struct OlmSession;
struct OlmOutboundGroupSession;
struct OlmInboundGroupSession;

namespace lotse::e2ee {

struct OlmError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Account {
 public:
  Account();
  // An account saved with pickle(key) (libolm's pickle: AES-256 under a key derived from `key`).
  static Account unpickle(std::string_view key, std::string pickled);
  ~Account();
  Account(const Account&) = delete;
  Account(Account&& other) noexcept : memory_(std::move(other.memory_)), account_(other.account_) { other.account_ = nullptr; }
  Account& operator=(const Account&) = delete;

  std::string ed25519() const;     // identity signing key (unpadded base64)
  std::string curve25519() const;  // identity encryption key
  std::string sign(std::string_view message) const;
  // Signs a JSON object the Matrix way (canonical JSON without signatures/unsigned).
  void sign_json(boost::json::object& object, const std::string& user_id, const std::string& device_id) const;

  void generate_one_time_keys(std::size_t count);
  // {"key id": "curve25519 key"} of the keys not yet marked as published.
  boost::json::object one_time_keys() const;
  void generate_fallback_key();
  boost::json::object unpublished_fallback_key() const;
  void mark_keys_as_published();
  std::size_t max_one_time_keys() const;
  std::string pickle(std::string_view key) const;

 private:
  friend class Session;
  struct Empty {};
  explicit Account(Empty);
  std::unique_ptr<std::uint8_t[]> memory_;
  ::OlmAccount* account_;
};

// A pairwise Olm session with one device.
class Session {
 public:
  // Outbound: to a device with identity key `their_curve25519`, using one of its one-time keys.
  static Session outbound(Account& account, const std::string& their_curve25519, const std::string& their_one_time_key);
  // Inbound: from a pre-key message (type 0); removes the used one-time key from the account.
  static Session inbound(Account& account, const std::string& their_curve25519, const std::string& prekey_message);
  ~Session();
  Session(Session&&) noexcept;
  Session(const Session&) = delete;

  std::string id() const;
  // Whether a pre-key message belongs to this session.
  bool matches_inbound(const std::string& their_curve25519, const std::string& prekey_message) const;
  struct Message {
    int type;  // 0 pre-key, 1 normal
    std::string body;
  };
  Message encrypt(std::string_view plaintext);
  std::string decrypt(int type, const std::string& body);

 private:
  Session();
  std::unique_ptr<std::uint8_t[]> memory_;
  ::OlmSession* session_;
};

class OutboundGroupSession {
 public:
  OutboundGroupSession();
  ~OutboundGroupSession();
  OutboundGroupSession(const OutboundGroupSession&) = delete;
  std::string id() const;
  std::string session_key() const;  // what m.room_key shares
  std::uint32_t message_index() const;
  std::string encrypt(std::string_view plaintext);

 private:
  std::unique_ptr<std::uint8_t[]> memory_;
  ::OlmOutboundGroupSession* session_;
};

class InboundGroupSession {
 public:
  explicit InboundGroupSession(const std::string& session_key);
  ~InboundGroupSession();
  InboundGroupSession(const InboundGroupSession&) = delete;
  InboundGroupSession(InboundGroupSession&&) noexcept;
  std::string id() const;
  struct Decrypted {
    std::string plaintext;
    std::uint32_t message_index;
  };
  Decrypted decrypt(const std::string& ciphertext);

 private:
  std::unique_ptr<std::uint8_t[]> memory_;
  ::OlmInboundGroupSession* session_;
};

}  // namespace lotse::e2ee
