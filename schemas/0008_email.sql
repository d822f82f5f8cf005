-- E-mail digests: when a user last got one, up to which event it counted, and whether the user
-- unsubscribed (the one-click link in every digest). The address is users.email.
CREATE TABLE email_digests (
  user_id       TEXT PRIMARY KEY,
  last_sent_ts  INTEGER NOT NULL DEFAULT 0,
  last_stream   INTEGER NOT NULL DEFAULT 0,   -- events up to here were counted in a digest already
  unsubscribed  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
