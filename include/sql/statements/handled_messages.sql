-- Which of these messages (partition, offset) a run has handled already.
SELECT m.kafka_partition, m.kafka_offset
FROM unnest(%(partitions)s::bigint[], %(offsets)s::bigint[]) AS m (kafka_partition, kafka_offset)
WHERE EXISTS (
    SELECT
    FROM ops.statement_messages AS s
    WHERE s.kafka_partition = m.kafka_partition AND s.kafka_offset = m.kafka_offset
)
