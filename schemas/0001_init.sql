-- Lotse schema v1: accounts, devices, rooms and events, per-user data, sync streams.

CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

CREATE TABLE users (
  user_id        TEXT PRIMARY KEY,
  password_hash  TEXT,
  created_ts     INTEGER NOT NULL,
  deactivated    INTEGER NOT NULL DEFAULT 0,
  displayname    TEXT,
  avatar_url     TEXT
) WITHOUT ROWID;

CREATE TABLE devices (
  user_id       TEXT NOT NULL,
  device_id     TEXT NOT NULL,
  display_name  TEXT,
  created_ts    INTEGER NOT NULL,
  last_seen_ts  INTEGER,
  last_seen_ip  TEXT,
  PRIMARY KEY (user_id, device_id)
) WITHOUT ROWID;

-- Only the SHA-256 of an access token is stored.
CREATE TABLE access_tokens (
  token_hash  TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL,
  device_id   TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX access_tokens_device ON access_tokens(user_id, device_id);

CREATE TABLE rooms (
  room_id       TEXT PRIMARY KEY,
  room_version  TEXT NOT NULL,
  creator       TEXT NOT NULL,
  created_ts    INTEGER NOT NULL
) WITHOUT ROWID;

-- Every accepted event of every room, in the order it was accepted (one server: each room is a line).
CREATE TABLE events (
  stream_ordering     INTEGER PRIMARY KEY,
  event_id            TEXT NOT NULL UNIQUE,
  room_id             TEXT NOT NULL,
  type                TEXT NOT NULL,
  state_key           TEXT,
  sender              TEXT NOT NULL,
  origin_server_ts    INTEGER NOT NULL,
  depth               INTEGER NOT NULL,
  json                TEXT NOT NULL,        -- the signed event (redacted form once redacted)
  membership          TEXT,                 -- content.membership of m.room.member events
  prev_state_event_id TEXT,                 -- state event this one replaced, for unsigned.prev_content
  history_visibility  TEXT NOT NULL,        -- visibility in force when the event was sent
  redacted_by         TEXT,                 -- id of the m.room.redaction applied to this event
  txn_user            TEXT,                 -- sending device and transaction id, for unsigned.transaction_id
  txn_device          TEXT,
  txn_id              TEXT
);
CREATE INDEX events_room ON events(room_id, stream_ordering);
CREATE INDEX events_room_state ON events(room_id, type, state_key, stream_ordering) WHERE state_key IS NOT NULL;
CREATE INDEX events_redacts ON events(redacted_by) WHERE redacted_by IS NOT NULL;

CREATE TABLE current_state (
  room_id          TEXT NOT NULL,
  type             TEXT NOT NULL,
  state_key        TEXT NOT NULL,
  event_id         TEXT NOT NULL,
  stream_ordering  INTEGER NOT NULL,
  PRIMARY KEY (room_id, type, state_key)
) WITHOUT ROWID;

-- Current membership of each user in each room (derived from current_state, kept for fast lookups).
CREATE TABLE memberships (
  room_id          TEXT NOT NULL,
  user_id          TEXT NOT NULL,
  membership       TEXT NOT NULL,
  stream_ordering  INTEGER NOT NULL,
  forgotten        INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;
CREATE INDEX memberships_user ON memberships(user_id, membership);

-- Idempotency of PUT /send and /redact: transaction ids are scoped to a device.
CREATE TABLE transactions (
  user_id    TEXT NOT NULL,
  device_id  TEXT NOT NULL,
  txn_id     TEXT NOT NULL,
  event_id   TEXT NOT NULL,
  PRIMARY KEY (user_id, device_id, txn_id)
) WITHOUT ROWID;

CREATE TABLE account_data (
  user_id    TEXT NOT NULL,
  room_id    TEXT NOT NULL,      -- '' for global account data
  type       TEXT NOT NULL,
  content    TEXT NOT NULL,
  stream_id  INTEGER NOT NULL,
  PRIMARY KEY (user_id, room_id, type)
) WITHOUT ROWID;
CREATE INDEX account_data_stream ON account_data(user_id, stream_id);

CREATE TABLE receipts (
  room_id       TEXT NOT NULL,
  user_id       TEXT NOT NULL,
  receipt_type  TEXT NOT NULL,
  thread_id     TEXT NOT NULL DEFAULT '',
  event_id      TEXT NOT NULL,
  ts            INTEGER NOT NULL,
  stream_id     INTEGER NOT NULL,
  PRIMARY KEY (room_id, user_id, receipt_type, thread_id)
) WITHOUT ROWID;
CREATE INDEX receipts_stream ON receipts(room_id, stream_id);

CREATE TABLE filters (
  user_id    TEXT NOT NULL,
  filter_id  INTEGER NOT NULL,
  json       TEXT NOT NULL,
  PRIMARY KEY (user_id, filter_id)
) WITHOUT ROWID;
