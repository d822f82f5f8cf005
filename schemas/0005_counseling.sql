-- The counseling domain: roles, agencies, topics, counselor profiles, consultations, the internal
-- exchange and the audit log of administrative actions.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'seeker';   -- seeker | counselor | admin | service

CREATE TABLE agencies (
  agency_id   TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  city        TEXT,
  created_ts  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE topics (
  topic_id    TEXT PRIMARY KEY,
  name        TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE counselor_profiles (
  user_id          TEXT PRIMARY KEY,
  agency_id        TEXT,
  languages        TEXT NOT NULL DEFAULT '[]',   -- JSON arrays
  topics           TEXT NOT NULL DEFAULT '[]',
  postal_codes     TEXT NOT NULL DEFAULT '[]',   -- prefixes of the postal codes served
  gender           TEXT,
  absence_message  TEXT,
  absence_from     TEXT,                          -- YYYY-MM-DD
  absence_until    TEXT
) WITHOUT ROWID;

CREATE TABLE consultations (
  room_id     TEXT PRIMARY KEY,
  seeker      TEXT NOT NULL,
  counselor   TEXT NOT NULL,
  agency_id   TEXT,
  topic_id    TEXT,
  status      TEXT NOT NULL,     -- open | closed
  created_ts  INTEGER NOT NULL,
  closed_ts   INTEGER
) WITHOUT ROWID;
CREATE INDEX consultations_seeker ON consultations(seeker);
CREATE INDEX consultations_counselor ON consultations(counselor);

CREATE TABLE exchange_rooms (
  room_id  TEXT PRIMARY KEY,
  kind     TEXT NOT NULL          -- space | room
) WITHOUT ROWID;

CREATE TABLE audit_log (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  ts       INTEGER NOT NULL,
  actor    TEXT NOT NULL,
  action   TEXT NOT NULL,
  target   TEXT,
  details  TEXT NOT NULL DEFAULT '{}'
);
