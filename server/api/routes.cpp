// The route table: every API area registers its own endpoints.
#include "server/api/homeserver.hpp"

#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

#include <filesystem>
#include <fstream>

#include "server/log.hpp"

namespace lotse::api {

void register_server_info_routes(http::Router&, Homeserver&);
void register_presence_routes(http::Router&, Homeserver&);
void register_legacy_sync_routes(http::Router&, Homeserver&);
void register_auth_routes(http::Router&, Homeserver&);
void register_account_routes(http::Router&, Homeserver&);
void register_device_routes(http::Router&, Homeserver&);
void register_room_routes(http::Router&, Homeserver&);
void register_event_routes(http::Router&, Homeserver&);
void register_state_routes(http::Router&, Homeserver&);
void register_message_routes(http::Router&, Homeserver&);
void register_sync_routes(http::Router&, Homeserver&);
void register_voip_routes(http::Router&, Homeserver&);
void register_directory_routes(http::Router&, Homeserver&);
void register_notification_routes(http::Router&, Homeserver&);
void register_receipt_routes(http::Router&, Homeserver&);
void register_account_data_routes(http::Router&, Homeserver&);
void register_profile_routes(http::Router&, Homeserver&);
void register_filter_routes(http::Router&, Homeserver&);
void register_push_rule_routes(http::Router&, Homeserver&);
void register_relation_routes(http::Router&, Homeserver&);
void register_key_routes(http::Router&, Homeserver&);
void register_to_device_routes(http::Router&, Homeserver&);
void register_key_backup_routes(http::Router&, Homeserver&);
void register_media_routes(http::Router&, Homeserver&);
void register_lotse_client_routes(http::Router&, Homeserver&);
void register_admin_routes(http::Router&, Homeserver&);
void register_import_routes(http::Router&, Homeserver&);
void register_space_hierarchy_routes(http::Router&, Homeserver&);
void register_web_client_routes(http::Router&, Homeserver&);

Homeserver::Homeserver(boost::asio::io_context& io, config::Config cfg, e2ee::SigningKey key)
    : io(io),
      config(std::move(cfg)),
      signing_key(std::move(key)),
      db(config.data_dir + "/lotse.db", io.get_executor()),
      notifier(io.get_executor()),
      accounts(db),
      rooms(db, notifier, config.server_name, signing_key),
      account_data(db, notifier),
      receipts(db, rooms, notifier),
      typing(io.get_executor(), rooms, notifier),
      presence(rooms, accounts, notifier),
      filters(db),
      keys(db, notifier),
      to_device(db, notifier),
      key_backup(db),
      media(db, config.data_dir + "/media"),
      counseling(db),
      policy(accounts, counseling),
      consultation_rooms(rooms, counseling, accounts, "@" + config.counseling.service_user + ":" + config.server_name),
      room_aliases(db, config.server_name),
      data_protection(db, accounts, rooms, counseling, media, keys,
                      "@" + config.counseling.service_user + ":" + config.server_name),
      imports(db),
      notifications(db, rooms, account_data,
                    {"@" + config.counseling.service_user + ":" + config.server_name,
                     "@" + std::string(core::kBridgeLocalpart) + ":" + config.server_name}),
      pushers(db),
      push_delivery(io, db, pushers, notifications, config),
      email_digests(db),
      email_digest(io, db, email_digests, config),
      sync(db, rooms, account_data, receipts, typing, presence, keys, to_device, notifications),
      register_limiter(config.rate_limits.registration.per_second, config.rate_limits.registration.burst),
      login_limiter(config.rate_limits.login.per_second, config.rate_limits.login.burst),
      message_limiter(config.rate_limits.messages.per_second, config.rate_limits.messages.burst),
      media_limiter(config.rate_limits.media.per_second, config.rate_limits.media.burst) {
  rooms.set_append_observer([this](store::WriteUnit& unit, const core::RoomInfo& room, const core::StoredEvent& stored,
                                   const boost::json::object& event) {
    notifications.on_event(unit, room, stored, event);
  });
  notifications.set_sink([this](std::vector<core::PushJob> jobs) { push_delivery.enqueue(std::move(jobs)); });
  account_data.set_push_rules_observer([this](const std::string& user_id) { notifications.rules_changed(user_id); });
}

namespace {
boost::asio::awaitable<void> prune_notifications(Homeserver& hs) {
  boost::asio::steady_timer timer(hs.io);
  for (;;) {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
    {
      store::WriteUnit unit(hs.db);
      hs.notifications.prune(unit, (now - std::chrono::hours(24 * 30)).count());
      unit.release();
    }
    co_await hs.db.commit();
    timer.expires_after(std::chrono::hours(6));
    co_await timer.async_wait(boost::asio::use_awaitable);
  }
}
}  // namespace

void Homeserver::start_background_tasks() {
  boost::asio::co_spawn(io, prune_notifications(*this), boost::asio::detached);
  email_digest.start();
}

void Homeserver::prepare_instance() {
  auto service = service_user_id();
  if (!accounts.user_exists(service)) {
    store::WriteUnit unit(db);
    accounts.create_user(unit, service, "", std::string("Lotse"), "service");
    unit.release();
    db.commit_now();
  }
  {
    store::WriteUnit unit(db);
    auto upgraded = consultation_rooms.add_member_hints(unit);
    for (const auto& failure : upgraded.failed)
      log_line("error", "could not name the service user as a functional member of a consultation room",
               {{"detail", failure}});
    if (upgraded.rooms > 0) {
      unit.release();
      db.commit_now();
      log_line("info", "consultation rooms opened before now name the service user as a functional member",
               {{"rooms", upgraded.rooms}});
    }
  }
  if (config.registration.role == "user")
    log_line("warning", "self-registered accounts are ordinary Matrix users ([registration] role = \"user\"): "
             "the counseling rules for seekers do not apply to them; use this for conformance tests only");
  // Earlier versions kept a bootstrap token in the data directory; a secret at rest there is a key
  // on the doormat, so it goes (bootstrap_request.hpp explains what replaced it).
  std::error_code ec;
  std::filesystem::remove(std::filesystem::path(config.data_dir) / "admin-bootstrap.token", ec);
}

void register_routes(http::Router& router, Homeserver& hs) {
  register_server_info_routes(router, hs);
  register_presence_routes(router, hs);
  register_legacy_sync_routes(router, hs);
  register_auth_routes(router, hs);
  register_account_routes(router, hs);
  register_device_routes(router, hs);
  register_room_routes(router, hs);
  register_event_routes(router, hs);
  register_state_routes(router, hs);
  register_message_routes(router, hs);
  register_sync_routes(router, hs);
  register_voip_routes(router, hs);
  register_directory_routes(router, hs);
  register_notification_routes(router, hs);
  register_receipt_routes(router, hs);
  register_account_data_routes(router, hs);
  register_profile_routes(router, hs);
  register_filter_routes(router, hs);
  register_push_rule_routes(router, hs);
  register_relation_routes(router, hs);
  register_key_routes(router, hs);
  register_to_device_routes(router, hs);
  register_key_backup_routes(router, hs);
  register_media_routes(router, hs);
  register_lotse_client_routes(router, hs);
  register_admin_routes(router, hs);
  register_import_routes(router, hs);
  register_space_hierarchy_routes(router, hs);
  register_web_client_routes(router, hs);
}

}  // namespace lotse::api
