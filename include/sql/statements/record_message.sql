-- What became of a message; a rerun of its run writes the same row again.
INSERT INTO ops.statement_messages (kafka_partition, kafka_offset, message_key, outcome, dag_run_id)
VALUES (%(partition)s, %(offset)s, %(message_key)s, %(outcome)s, %(dag_run_id)s)
ON CONFLICT (kafka_partition, kafka_offset) DO UPDATE SET
    message_key = excluded.message_key,
    outcome = excluded.outcome,
    dag_run_id = excluded.dag_run_id,
    handled_at = now()
