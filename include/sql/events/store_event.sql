-- Store one operations event in the outbox (as ops_events_writer: INSERT only, no RETURNING).
-- A second callback for the same key stores nothing (the caller sees 0 rows inserted).
-- No conflict target: naming one needs SELECT on its columns, which this role must not have;
-- the table's only other unique key is its generated event_id, which never conflicts.
INSERT INTO events.outbox (topic, event_key, event_type, payload)
VALUES (%(topic)s, %(event_key)s, %(event_type)s, %(payload)s)
ON CONFLICT DO NOTHING
