-- An OpenLineage event Kafka did not take in time, kept in the operations events' outbox (as
-- ops_events_writer: INSERT only) for the ops_events_relay DAG to deliver once Kafka is back.
-- The key names the event (its run, type and time): storing it twice stores it once.
INSERT INTO events.outbox (topic, event_key, event_type, payload)
VALUES (%(topic)s, %(event_key)s, 'openlineage', %(payload)s)
ON CONFLICT DO NOTHING
