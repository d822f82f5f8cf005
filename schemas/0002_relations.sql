-- Relations (m.relates_to) of events, for /relations, /threads and bundled thread aggregations.
ALTER TABLE events ADD COLUMN relates_to TEXT;   -- parent event id
ALTER TABLE events ADD COLUMN rel_type TEXT;     -- m.thread, m.annotation, m.replace, m.reference, ...
CREATE INDEX events_relations ON events(relates_to, rel_type, stream_ordering) WHERE relates_to IS NOT NULL;
