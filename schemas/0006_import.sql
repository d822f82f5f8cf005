-- What lotse-bridge imported from the old system: accounts are marked, rooms keep their import id,
-- so a second run of the import finds them instead of creating them twice, and the import API can
-- only ever write into accounts and rooms that the import itself created.
ALTER TABLE users ADD COLUMN imported INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN email TEXT;     -- a real address brought along from the old system

CREATE TABLE imported_rooms (
  import_id  TEXT PRIMARY KEY,      -- the bridge's name for it, e.g. "rc:<Rocket.Chat room id>"
  room_id    TEXT NOT NULL UNIQUE,
  kind       TEXT NOT NULL          -- consultation | counselors | exchange | group
) WITHOUT ROWID;

-- Second factors brought along from the old system (Keycloak TOTP), kept for the counselors'
-- two-factor login; not used for anything yet.
CREATE TABLE imported_second_factors (
  user_id  TEXT PRIMARY KEY,
  kind     TEXT NOT NULL,          -- totp
  details  TEXT NOT NULL           -- JSON: secret (Base32), digits, period, algorithm
) WITHOUT ROWID;
