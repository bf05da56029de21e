-- Kafka acknowledged the event: record it, once (a second record of the same key is a no-op).
-- No conflict target (the callbacks' role may not SELECT); the primary key is (topic, event_key).
INSERT INTO events.outbox_deliveries (topic, event_key, delivered_by)
VALUES (%(topic)s, %(event_key)s, %(delivered_by)s)
ON CONFLICT DO NOTHING
