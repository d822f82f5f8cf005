-- End-to-end encryption: device keys, one-time and fallback keys, cross-signing keys and signatures,
-- device-list changes, to-device messages and server-side key backup. The server stores public keys
-- and ciphertext only.

CREATE TABLE device_keys (
  user_id    TEXT NOT NULL,
  device_id  TEXT NOT NULL,
  json       TEXT NOT NULL,            -- the signed device_keys object as uploaded
  PRIMARY KEY (user_id, device_id)
) WITHOUT ROWID;

CREATE TABLE one_time_keys (
  user_id    TEXT NOT NULL,
  device_id  TEXT NOT NULL,
  algorithm  TEXT NOT NULL,
  key_id     TEXT NOT NULL,
  json       TEXT NOT NULL,
  PRIMARY KEY (user_id, device_id, algorithm, key_id)
) WITHOUT ROWID;

CREATE TABLE fallback_keys (
  user_id    TEXT NOT NULL,
  device_id  TEXT NOT NULL,
  algorithm  TEXT NOT NULL,
  key_id     TEXT NOT NULL,
  json       TEXT NOT NULL,
  used       INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, device_id, algorithm)
) WITHOUT ROWID;

-- master, self_signing, user_signing
CREATE TABLE cross_signing_keys (
  user_id    TEXT NOT NULL,
  usage      TEXT NOT NULL,
  json       TEXT NOT NULL,
  PRIMARY KEY (user_id, usage)
) WITHOUT ROWID;

-- Signatures uploaded later (keys/signatures/upload), merged into the keys they sign when queried.
CREATE TABLE key_signatures (
  target_user  TEXT NOT NULL,
  target_key   TEXT NOT NULL,   -- device id, or the public key of a cross-signing key
  signer_user  TEXT NOT NULL,
  signer_key   TEXT NOT NULL,   -- "ed25519:<id>"
  signature    TEXT NOT NULL,
  PRIMARY KEY (target_user, target_key, signer_user, signer_key)
) WITHOUT ROWID;

-- A user's devices or keys changed at this stream position (for device_lists in /sync).
CREATE TABLE device_list_changes (
  stream_id  INTEGER PRIMARY KEY,
  user_id    TEXT NOT NULL
);
CREATE INDEX device_list_changes_user ON device_list_changes(user_id, stream_id);

CREATE TABLE to_device_messages (
  stream_id         INTEGER PRIMARY KEY,
  target_user       TEXT NOT NULL,
  target_device     TEXT NOT NULL,
  json              TEXT NOT NULL    -- {"sender","type","content"}
);
CREATE INDEX to_device_target ON to_device_messages(target_user, target_device, stream_id);

-- Idempotency of sendToDevice per sending device and transaction id.
CREATE TABLE to_device_transactions (
  user_id    TEXT NOT NULL,
  device_id  TEXT NOT NULL,
  txn_id     TEXT NOT NULL,
  PRIMARY KEY (user_id, device_id, txn_id)
) WITHOUT ROWID;

CREATE TABLE room_key_backup_versions (
  user_id    TEXT NOT NULL,
  version    INTEGER NOT NULL,
  algorithm  TEXT NOT NULL,
  auth_data  TEXT NOT NULL,
  etag       INTEGER NOT NULL DEFAULT 0,
  deleted    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, version)
) WITHOUT ROWID;

CREATE TABLE room_key_backup_keys (
  user_id     TEXT NOT NULL,
  version     INTEGER NOT NULL,
  room_id     TEXT NOT NULL,
  session_id  TEXT NOT NULL,
  first_message_index INTEGER NOT NULL,
  forwarded_count     INTEGER NOT NULL,
  is_verified         INTEGER NOT NULL,
  session_data        TEXT NOT NULL,
  PRIMARY KEY (user_id, version, room_id, session_id)
) WITHOUT ROWID;
