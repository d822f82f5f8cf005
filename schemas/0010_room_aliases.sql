-- Room aliases (client-server API "Room aliases"): #localpart:server_name -> room, local only (no
-- federation). The creator may delete an alias, as may the room's moderators (see core/room_aliases).
CREATE TABLE room_aliases (
  alias TEXT PRIMARY KEY,
  room_id TEXT NOT NULL,
  creator TEXT NOT NULL,
  created_ts INTEGER NOT NULL
);
CREATE INDEX room_aliases_room ON room_aliases (room_id);
