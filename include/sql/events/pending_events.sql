-- The oldest events Kafka has not acknowledged yet, in the order they were stored.
SELECT o.topic, o.event_key, o.payload
FROM events.outbox AS o
WHERE NOT EXISTS (
    SELECT FROM events.outbox_deliveries AS d
    WHERE d.topic = o.topic AND d.event_key = o.event_key
)
ORDER BY o.event_id
LIMIT %(batch_size)s
