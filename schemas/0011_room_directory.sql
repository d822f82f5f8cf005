-- The published room directory (client-server API "Listing rooms"): rooms their moderators list in
-- GET /publicRooms. Consultations are never listed; seekers do not see the directory.
CREATE TABLE room_directory (
  room_id TEXT PRIMARY KEY,
  published_ts INTEGER NOT NULL
);
