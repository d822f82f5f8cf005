// Pushers, stored in the pushers table (schemas/0007_push.sql).
#include "server/core/pushers.hpp"

#include "server/core/stored_json.hpp"

namespace lotse::core {
namespace {
constexpr const char* kColumns =
    "SELECT user_id, app_id, pushkey, coalesce(access_token_device, ''), kind, app_display_name, "
    "device_display_name, profile_tag, lang, data, created_ts FROM pushers ";

template <typename Statement>
Pusher read_pusher(Statement& st) {
  Pusher p{st.text(0), st.text(1), st.text(2), st.text(3), st.text(4), st.text(5), st.text(6), std::nullopt,
           st.text(8), {}, st.int64(10)};
  if (!st.is_null(7)) p.profile_tag = st.text(7);
  if (auto data = read_stored_object(st.text(9), "pusher data", p.user_id)) p.data = std::move(*data);
  return p;
}
}  // namespace

Pushers::Pushers(store::Database& db) : db_(db) {
  db_.conn().define_function("lotse_pushers_changed", [this](std::string_view user) { cache_.erase(std::string(user)); });
  db_.conn().exec(
      "CREATE TEMP TRIGGER IF NOT EXISTS pushers_cache_insert AFTER INSERT ON main.pushers "
      "BEGIN SELECT lotse_pushers_changed(NEW.user_id); END;"
      "CREATE TEMP TRIGGER IF NOT EXISTS pushers_cache_update AFTER UPDATE ON main.pushers "
      "BEGIN SELECT lotse_pushers_changed(OLD.user_id); SELECT lotse_pushers_changed(NEW.user_id); END;"
      "CREATE TEMP TRIGGER IF NOT EXISTS pushers_cache_delete AFTER DELETE ON main.pushers "
      "BEGIN SELECT lotse_pushers_changed(OLD.user_id); END;");
}

Pushers::~Pushers() { db_.conn().define_function("lotse_pushers_changed", nullptr); }

void Pushers::set(store::WriteUnit&, const Pusher& p, bool append) {
  if (!append) {
    // The pushkey is the browser's public key, not a secret: another user's pusher goes only when
    // it also names the same push endpoint (the same browser subscription).
    auto del = db_.conn().prepare(
        "DELETE FROM pushers WHERE app_id = ? AND pushkey = ? AND user_id != ? AND json_extract(data, '$.endpoint') = ?");
    auto* endpoint = p.data.if_contains("endpoint");
    del.bind_all(p.app_id, p.pushkey, p.user_id, endpoint && endpoint->is_string() ? std::string(endpoint->get_string()) : std::string());
    del.run();
  }
  auto st = db_.conn().prepare(
      "INSERT OR REPLACE INTO pushers (user_id, app_id, pushkey, access_token_device, kind, app_display_name, "
      "device_display_name, profile_tag, lang, data, created_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  st.bind_all(p.user_id, p.app_id, p.pushkey, p.device_id, p.kind, p.app_display_name, p.device_display_name,
              p.profile_tag, p.lang, boost::json::serialize(p.data), p.created_ts);
  st.run();
}

bool Pushers::remove(store::WriteUnit&, const std::string& user_id, const std::string& app_id,
                     const std::string& pushkey) {
  auto st = db_.conn().prepare("DELETE FROM pushers WHERE user_id = ? AND app_id = ? AND pushkey = ?");
  st.bind_all(user_id, app_id, pushkey);
  st.run();
  return db_.conn().changes() > 0;
}

bool Pushers::exists(const std::string& user_id, const std::string& app_id, const std::string& pushkey) {
  auto st = db_.conn().prepare("SELECT 1 FROM pushers WHERE user_id = ? AND app_id = ? AND pushkey = ?");
  st.bind_all(user_id, app_id, pushkey);
  return st.step();
}

const std::vector<Pusher>& Pushers::of_user(const std::string& user_id) {
  if (auto it = cache_.find(user_id); it != cache_.end()) return it->second;
  auto st = db_.conn().prepare(std::string(kColumns) + "WHERE user_id = ? ORDER BY created_ts, app_id, pushkey");
  st.bind_all(user_id);
  std::vector<Pusher> out;
  while (st.step()) out.push_back(read_pusher(st));
  // Not while a write unit is open: what it wrote could still be rolled back.
  if (db_.in_write_unit()) return uncached_ = std::move(out);
  if (cache_.size() > 100000) cache_.clear();  // a bound, not an eviction policy
  return cache_.emplace(user_id, std::move(out)).first->second;
}

std::optional<Pusher> Pushers::find(const std::string& app_id, const std::string& pushkey) {
  auto st = db_.conn().prepare(std::string(kColumns) + "WHERE app_id = ? AND pushkey = ? LIMIT 1");
  st.bind_all(app_id, pushkey);
  if (!st.step()) return std::nullopt;
  return read_pusher(st);
}

std::size_t Pushers::count_of_user(const std::string& user_id) {
  auto st = db_.conn().prepare("SELECT count(*) FROM pushers WHERE user_id = ?");
  st.bind_all(user_id);
  return st.step() ? static_cast<std::size_t>(st.int64(0)) : 0;
}

}  // namespace lotse::core
