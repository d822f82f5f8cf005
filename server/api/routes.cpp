// The route table: every API area registers its own endpoints.
#include "server/api/homeserver.hpp"

namespace lotse::api {

void register_server_info_routes(http::Router&, Homeserver&);
void register_auth_routes(http::Router&, Homeserver&);
void register_account_routes(http::Router&, Homeserver&);
void register_device_routes(http::Router&, Homeserver&);
void register_room_routes(http::Router&, Homeserver&);
void register_event_routes(http::Router&, Homeserver&);
void register_state_routes(http::Router&, Homeserver&);
void register_message_routes(http::Router&, Homeserver&);
void register_sync_routes(http::Router&, Homeserver&);
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
      filters(db),
      keys(db, notifier, rooms),
      to_device(db, notifier),
      key_backup(db),
      media(db, config.data_dir + "/media"),
      sync(db, rooms, account_data, receipts, typing, keys, to_device),
      register_limiter(config.rate_limits.registration.per_second, config.rate_limits.registration.burst),
      login_limiter(config.rate_limits.login.per_second, config.rate_limits.login.burst),
      message_limiter(config.rate_limits.messages.per_second, config.rate_limits.messages.burst),
      media_limiter(config.rate_limits.media.per_second, config.rate_limits.media.burst) {}

void register_routes(http::Router& router, Homeserver& hs) {
  register_server_info_routes(router, hs);
  register_auth_routes(router, hs);
  register_account_routes(router, hs);
  register_device_routes(router, hs);
  register_room_routes(router, hs);
  register_event_routes(router, hs);
  register_state_routes(router, hs);
  register_message_routes(router, hs);
  register_sync_routes(router, hs);
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
}

}  // namespace lotse::api
