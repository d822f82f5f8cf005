-- Notifications: what the push rules decided for each recipient of an event (the counts in /sync and
-- GET /notifications come from here; a read receipt past an event makes it read), and the pushers
-- that deliver them to a browser's push service (Web Push, the built-in gateway).
CREATE TABLE event_push_actions (
  user_id          TEXT NOT NULL,
  stream_ordering  INTEGER NOT NULL,
  room_id          TEXT NOT NULL,
  event_id         TEXT NOT NULL,
  thread_id        TEXT NOT NULL DEFAULT 'main',   -- 'main' or the thread root's event id
  highlight        INTEGER NOT NULL DEFAULT 0,
  actions          TEXT NOT NULL,                  -- the matching rule's actions (JSON array)
  ts               INTEGER NOT NULL,
  PRIMARY KEY (user_id, stream_ordering)
) WITHOUT ROWID;
CREATE INDEX event_push_actions_room ON event_push_actions (room_id, user_id, stream_ordering);

CREATE TABLE pushers (
  user_id              TEXT NOT NULL,
  app_id               TEXT NOT NULL,
  pushkey              TEXT NOT NULL,
  access_token_device  TEXT,            -- the device whose token registered it: removed with the device
  kind                 TEXT NOT NULL,   -- http
  app_display_name     TEXT NOT NULL,
  device_display_name  TEXT NOT NULL,
  profile_tag          TEXT,
  lang                 TEXT NOT NULL,
  data                 TEXT NOT NULL,   -- JSON: url, format, and for Web Push endpoint and auth
  created_ts           INTEGER NOT NULL,
  PRIMARY KEY (app_id, pushkey, user_id)
) WITHOUT ROWID;
CREATE INDEX pushers_user ON pushers (user_id);
