// Rooms and their events: building, authorising, signing and storing events; reading state and
// timelines. One server means each room's events form a line ordered by stream position.
#pragma once
#include <boost/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "e2ee/crypto.hpp"
#include "server/core/auth_rules.hpp"
#include "server/core/event_format.hpp"
#include "server/core/notifier.hpp"
#include "server/store/database.hpp"

namespace lotse::core {

struct StoredEvent {
  std::int64_t stream = 0;
  std::string event_id;
  std::string room_id;
  std::string type;
  std::optional<std::string> state_key;
  std::string sender;
  std::int64_t origin_server_ts = 0;
  std::string json;  // signed federation-format event
  std::optional<std::string> membership;
  std::optional<std::string> prev_state_event_id;
  std::string history_visibility;
  std::optional<std::string> redacted_by;
  std::optional<std::string> txn_user, txn_device, txn_id;

  boost::json::object parsed() const;
  boost::json::object content() const;
};

struct RoomInfo {
  std::string room_id;
  RoomVersion version;
  std::string creator;
};

struct Transaction {
  std::string user_id;
  std::string device_id;
  std::string txn_id;
};

// Everyone else with membership join or invite in a room where `user_id` has one of them, without
// the accounts whose role is one of `except_roles`: share_room for many users in one query.
std::set<std::string> sharing_users(store::Database& db, const std::string& user_id,
                                    const std::vector<std::string>& except_roles = {});

class Rooms {
 public:
  Rooms(store::Database& db, Notifier& notifier, std::string server_name, const e2ee::SigningKey& key)
      : db_(db), notifier_(notifier), server_name_(std::move(server_name)), key_(key) {}

  const std::string& server_name() const { return server_name_; }

  // While one lives, every event appended (and room inserted) carries `ts` as its time instead of
  // now: the bridge's import keeps the old system's timestamps. Scope it around synchronous appends
  // only (no co_await inside), so no other request's events are backdated.
  class Backdate {
   public:
    Backdate(Rooms& rooms, std::int64_t ts) : rooms_(rooms) { rooms_.backdate_ = ts; }
    ~Backdate() { rooms_.backdate_.reset(); }
    Backdate(const Backdate&) = delete;
    Backdate& operator=(const Backdate&) = delete;

   private:
    Rooms& rooms_;
  };
  std::optional<RoomInfo> room(const std::string& room_id);
  void insert_room(store::WriteUnit&, const RoomInfo& info);

  // Builds the event, checks the auth rules against current state, signs and stores it. Members of
  // the room (and the event's target) are woken after commit. Throws CoreError when rejected.
  StoredEvent append(store::WriteUnit& unit, const RoomInfo& room, const std::string& sender, const std::string& type,
                     boost::json::object content, const std::optional<std::string>& state_key,
                     const std::optional<Transaction>& txn = std::nullopt);

  // Called for every appended event (federation format) inside its write unit, after it is stored;
  // not for backdated (imported) events.
  using AppendObserver = std::function<void(store::WriteUnit&, const RoomInfo&, const StoredEvent&,
                                            const boost::json::object& event)>;
  void set_append_observer(AppendObserver observer) { append_observer_ = std::move(observer); }

  // Event lookups
  std::optional<StoredEvent> event(const std::string& event_id);
  std::optional<StoredEvent> state_event(const std::string& room_id, const std::string& type,
                                         const std::string& state_key);
  std::optional<boost::json::object> state_content(const std::string& room_id, const std::string& type,
                                                   const std::string& state_key);
  std::vector<StoredEvent> current_state(const std::string& room_id);
  // The state in force just after stream position `at` (events with stream <= at).
  std::vector<StoredEvent> state_at(const std::string& room_id, std::int64_t at);
  // Timeline slice: events with from < stream <= to; newest first when `backwards`.
  std::vector<StoredEvent> events_between(const std::string& room_id, std::int64_t from_exclusive,
                                          std::int64_t to_inclusive, bool backwards, std::size_t limit);
  std::optional<std::int64_t> last_stream(const std::string& room_id);

  // Memberships
  std::string membership(const std::string& room_id, const std::string& user_id);
  // (user_id, membership) for every member event in current state.
  std::vector<std::pair<std::string, std::string>> members(const std::string& room_id);
  std::vector<std::string> joined_members(const std::string& room_id);
  struct UserRoom {
    std::string room_id;
    std::string membership;
    std::int64_t stream;
  };
  std::vector<UserRoom> rooms_of(const std::string& user_id, bool include_forgotten = false);
  // Whether both users have membership join or invite in some room.
  bool share_room(const std::string& a, const std::string& b);
  // core::sharing_users on this database.
  std::set<std::string> sharing_users(const std::string& user_id, const std::vector<std::string>& except_roles = {});
  void forget(store::WriteUnit&, const std::string& room_id, const std::string& user_id);
  // The membership of `user_id` after each of their member events in the room, in stream order.
  std::vector<std::pair<std::int64_t, std::string>> membership_history(const std::string& room_id,
                                                                        const std::string& user_id);

  // Child events of `parent` (optionally of one rel_type / event type) with from < stream <= to.
  std::vector<StoredEvent> relations(const std::string& parent, const std::optional<std::string>& rel_type,
                                     const std::optional<std::string>& event_type, std::int64_t from_exclusive,
                                     std::int64_t to_inclusive, bool backwards, std::size_t limit);
  struct ThreadRoot {
    std::string root_id;
    std::int64_t latest_stream;
  };
  // Thread roots of a room ordered by latest reply, newest first, with replies before `before`.
  std::vector<ThreadRoot> threads(const std::string& room_id, std::int64_t before, std::size_t limit,
                                  const std::optional<std::string>& participant);
  struct ThreadSummary {
    std::int64_t count = 0;
    std::string latest_event_id;
    bool participated = false;
  };
  std::optional<ThreadSummary> thread_summary(const std::string& root_id, const std::string& user_id);

  // Idempotent sends: the event id stored for (user, device, txn id), if any.
  std::optional<std::string> transaction_event(const Transaction& txn);

  // Applies a redaction: the target keeps only what the room version's algorithm allows.
  void apply_redaction(store::WriteUnit&, const RoomInfo& room, const StoredEvent& redaction,
                       const std::string& target_event_id);

  // Drops the in-memory state of a room that was deleted (retention).
  void forget_cached_state(store::WriteUnit& unit, const std::string& room_id) {
    state_cache_.erase(room_id);
    unit.on_rollback([this, room_id] { state_cache_.erase(room_id); });
  }
  // Current state contents, answered from an in-memory copy of the room's state.
  StateLookup lookup_for(const std::string& room_id);

 private:
  std::optional<std::int64_t> backdate_;
  AppendObserver append_observer_;
  std::int64_t event_time() const;
  struct CachedStateEvent {
    std::string event_id;
    boost::json::object content;
  };
  using StateContents = std::map<std::pair<std::string, std::string>, CachedStateEvent>;
  StateContents& cached_state(const std::string& room_id);
  // The id of the current state event (type, state_key), from the cache.
  std::optional<std::string> current_state_id(const std::string& room_id, const std::string& type,
                                              const std::string& state_key);
  void update_cached_state(store::WriteUnit& unit, const std::string& room_id, const std::string& type,
                           const std::string& state_key, CachedStateEvent entry);

  void notify_room_after_commit(store::WriteUnit& unit, const std::string& room_id,
                                const std::optional<std::string>& also_user);

  store::Database& db_;
  Notifier& notifier_;
  std::string server_name_;
  const e2ee::SigningKey& key_;
  // room id -> current state contents; dropped for a room when a write unit touching it rolls back.
  std::unordered_map<std::string, StateContents> state_cache_;
};

}  // namespace lotse::core
