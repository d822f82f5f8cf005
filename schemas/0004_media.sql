-- The content repository: media metadata (files live content-addressed under data_dir/media) and
-- cached thumbnails.
CREATE TABLE media (
  media_id      TEXT PRIMARY KEY,
  user_id       TEXT NOT NULL,
  content_type  TEXT,
  upload_name   TEXT,
  size          INTEGER,
  sha256        TEXT,                 -- NULL until uploaded (asynchronous uploads)
  created_ts    INTEGER NOT NULL,
  expires_ts    INTEGER               -- set while an asynchronous upload is pending
) WITHOUT ROWID;
CREATE INDEX media_user ON media(user_id);
CREATE INDEX media_sha256 ON media(sha256);

CREATE TABLE media_thumbnails (
  media_id      TEXT NOT NULL,
  width         INTEGER NOT NULL,
  height        INTEGER NOT NULL,
  method        TEXT NOT NULL,
  content_type  TEXT NOT NULL,
  sha256        TEXT NOT NULL,
  size          INTEGER NOT NULL,
  PRIMARY KEY (media_id, width, height, method)
) WITHOUT ROWID;
CREATE INDEX media_thumbnails_sha256 ON media_thumbnails(sha256);
