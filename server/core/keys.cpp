// E2EE key storage.
#include "server/core/keys.hpp"

#include "server/core/errors.hpp"
#include "server/core/rooms.hpp"

namespace lotse::core {

std::optional<std::string> Keys::device_keys(const std::string& user_id, const std::string& device_id) {
  auto st = db_.conn().prepare("SELECT json FROM device_keys WHERE user_id = ? AND device_id = ?");
  st.bind_all(user_id, device_id);
  if (!st.step()) return std::nullopt;
  return st.text(0);
}

std::vector<std::pair<std::string, std::string>> Keys::all_device_keys(const std::string& user_id) {
  std::vector<std::pair<std::string, std::string>> out;
  auto st = db_.conn().prepare(
      "SELECT k.device_id, k.json FROM device_keys k JOIN devices d ON d.user_id = k.user_id AND d.device_id = k.device_id "
      "WHERE k.user_id = ? ORDER BY k.device_id");
  st.bind_all(user_id);
  while (st.step()) out.emplace_back(st.text(0), st.text(1));
  return out;
}

void Keys::set_device_keys(store::WriteUnit& unit, const std::string& user_id, const std::string& device_id,
                           const std::string& json) {
  if (device_keys(user_id, device_id) == json) return;
  auto st = db_.conn().prepare(
      "INSERT INTO device_keys (user_id, device_id, json) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (user_id, device_id) DO UPDATE SET json = ?3");
  st.bind_all(user_id, device_id, json);
  st.run();
  mark_device_list_changed(unit, user_id);
}

void Keys::add_one_time_key(store::WriteUnit&, const std::string& user_id, const std::string& device_id,
                            const std::string& algorithm, const std::string& key_id, const std::string& json) {
  {
    auto st = db_.conn().prepare(
        "SELECT json FROM one_time_keys WHERE user_id = ? AND device_id = ? AND algorithm = ? AND key_id = ?");
    st.bind_all(user_id, device_id, algorithm, key_id);
    if (st.step()) {
      if (st.text(0) == json) return;
      throw invalid("M_INVALID_PARAM", "One-time key " + algorithm + ":" + key_id + " already exists with other content.");
    }
  }
  auto st = db_.conn().prepare(
      "INSERT INTO one_time_keys (user_id, device_id, algorithm, key_id, json) VALUES (?, ?, ?, ?, ?)");
  st.bind_all(user_id, device_id, algorithm, key_id, json);
  st.run();
}

void Keys::set_fallback_key(store::WriteUnit&, const std::string& user_id, const std::string& device_id,
                            const std::string& algorithm, const std::string& key_id, const std::string& json) {
  auto st = db_.conn().prepare(
      "INSERT INTO fallback_keys (user_id, device_id, algorithm, key_id, json, used) VALUES (?1, ?2, ?3, ?4, ?5, 0) "
      "ON CONFLICT (user_id, device_id, algorithm) DO UPDATE SET key_id = ?4, json = ?5, "
      "used = CASE WHEN fallback_keys.key_id = ?4 AND fallback_keys.json = ?5 THEN fallback_keys.used ELSE 0 END");
  st.bind_all(user_id, device_id, algorithm, key_id, json);
  st.run();
}

std::map<std::string, std::int64_t> Keys::one_time_key_counts(const std::string& user_id, const std::string& device_id) {
  std::map<std::string, std::int64_t> out{{"signed_curve25519", 0}};
  auto st = db_.conn().prepare(
      "SELECT algorithm, count(*) FROM one_time_keys WHERE user_id = ? AND device_id = ? GROUP BY algorithm");
  st.bind_all(user_id, device_id);
  while (st.step()) out[st.text(0)] = st.int64(1);
  return out;
}

std::vector<std::string> Keys::unused_fallback_key_types(const std::string& user_id, const std::string& device_id) {
  std::vector<std::string> out;
  auto st = db_.conn().prepare(
      "SELECT algorithm FROM fallback_keys WHERE user_id = ? AND device_id = ? AND used = 0 ORDER BY algorithm");
  st.bind_all(user_id, device_id);
  while (st.step()) out.push_back(st.text(0));
  return out;
}

std::optional<std::pair<std::string, std::string>> Keys::claim(store::WriteUnit&, const std::string& user_id,
                                                               const std::string& device_id,
                                                               const std::string& algorithm) {
  // One thread handles all requests and this runs without suspending, so two claims can never
  // receive the same key.
  {
    auto st = db_.conn().prepare(
        "SELECT key_id, json FROM one_time_keys WHERE user_id = ? AND device_id = ? AND algorithm = ? "
        "ORDER BY key_id LIMIT 1");
    st.bind_all(user_id, device_id, algorithm);
    if (st.step()) {
      std::pair<std::string, std::string> key{st.text(0), st.text(1)};
      auto del = db_.conn().prepare(
          "DELETE FROM one_time_keys WHERE user_id = ? AND device_id = ? AND algorithm = ? AND key_id = ?");
      del.bind_all(user_id, device_id, algorithm, key.first);
      del.run();
      return key;
    }
  }
  auto st = db_.conn().prepare(
      "SELECT key_id, json FROM fallback_keys WHERE user_id = ? AND device_id = ? AND algorithm = ?");
  st.bind_all(user_id, device_id, algorithm);
  if (!st.step()) return std::nullopt;
  std::pair<std::string, std::string> key{st.text(0), st.text(1)};
  auto upd = db_.conn().prepare("UPDATE fallback_keys SET used = 1 WHERE user_id = ? AND device_id = ? AND algorithm = ?");
  upd.bind_all(user_id, device_id, algorithm);
  upd.run();
  return key;
}

std::optional<std::string> Keys::cross_signing_key(const std::string& user_id, const std::string& usage) {
  auto st = db_.conn().prepare("SELECT json FROM cross_signing_keys WHERE user_id = ? AND usage = ?");
  st.bind_all(user_id, usage);
  if (!st.step()) return std::nullopt;
  return st.text(0);
}

void Keys::set_cross_signing_key(store::WriteUnit& unit, const std::string& user_id, const std::string& usage,
                                 const std::string& json) {
  if (cross_signing_key(user_id, usage) == json) return;
  auto st = db_.conn().prepare(
      "INSERT INTO cross_signing_keys (user_id, usage, json) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (user_id, usage) DO UPDATE SET json = ?3");
  st.bind_all(user_id, usage, json);
  st.run();
  mark_device_list_changed(unit, user_id);
}

void Keys::add_signature(store::WriteUnit& unit, const std::string& target_user, const std::string& target_key,
                         const std::string& signer_user, const std::string& signer_key, const std::string& signature) {
  auto st = db_.conn().prepare(
      "INSERT INTO key_signatures (target_user, target_key, signer_user, signer_key, signature) VALUES (?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT (target_user, target_key, signer_user, signer_key) DO UPDATE SET signature = ?5");
  st.bind_all(target_user, target_key, signer_user, signer_key, signature);
  st.run();
  mark_device_list_changed(unit, target_user);
}

std::vector<Keys::Signature> Keys::signatures_for(const std::string& target_user, const std::string& target_key) {
  std::vector<Signature> out;
  auto st = db_.conn().prepare(
      "SELECT signer_user, signer_key, signature FROM key_signatures WHERE target_user = ? AND target_key = ?");
  st.bind_all(target_user, target_key);
  while (st.step()) out.push_back(Signature{st.text(0), st.text(1), st.text(2)});
  return out;
}

std::set<std::string> Keys::users_sharing_rooms(const std::string& user_id) {
  auto out = sharing_users(db_, user_id);
  out.insert(user_id);
  return out;
}

void Keys::mark_device_list_changed(store::WriteUnit& unit, const std::string& user_id) {
  auto st = db_.conn().prepare("INSERT INTO device_list_changes (stream_id, user_id) VALUES (?, ?)");
  st.bind_all(db_.next_stream_id(), user_id);
  st.run();
  auto users = users_sharing_rooms(user_id);
  unit.after_commit([this, users = std::move(users)] {
    for (const auto& u : users) notifier_.notify_user(u);
  });
}

std::set<std::string> Keys::changed_since(std::int64_t since, const std::set<std::string>& candidates) {
  std::set<std::string> out;
  auto st = db_.conn().prepare("SELECT DISTINCT user_id FROM device_list_changes WHERE stream_id > ?");
  st.bind_all(since);
  while (st.step()) {
    auto u = st.text(0);
    if (candidates.count(u)) out.insert(std::move(u));
  }
  return out;
}

void Keys::delete_device(store::WriteUnit& unit, const std::string& user_id, const std::string& device_id) {
  for (auto* sql : {"DELETE FROM device_keys WHERE user_id = ? AND device_id = ?",
                    "DELETE FROM one_time_keys WHERE user_id = ? AND device_id = ?",
                    "DELETE FROM fallback_keys WHERE user_id = ? AND device_id = ?",
                    "DELETE FROM to_device_messages WHERE target_user = ? AND target_device = ?",
                    "DELETE FROM to_device_transactions WHERE user_id = ? AND device_id = ?",
                    "DELETE FROM key_signatures WHERE target_user = ? AND target_key = ?"}) {
    auto st = db_.conn().prepare(sql);
    st.bind_all(user_id, device_id);
    st.run();
  }
  mark_device_list_changed(unit, user_id);
}

}  // namespace lotse::core
