-- The custodian's statement of the date as just loaded, in the load's transaction: a later
-- message announcing the same file (same sha256) finds it here and loads nothing.
INSERT INTO ops.statement_deliveries (
    business_date, custodian, object_key, sha256, announced_rows, loaded_rows, quarantined_rows,
    kafka_partition, kafka_offset, dag_run_id
)
VALUES (
    %(business_date)s, %(custodian_code)s, %(object_key)s, %(sha256)s, %(announced_rows)s,
    %(loaded_rows)s, %(quarantined_rows)s, %(kafka_partition)s, %(kafka_offset)s, %(dag_run_id)s
)
ON CONFLICT (business_date, custodian) DO UPDATE SET
    object_key = excluded.object_key,
    sha256 = excluded.sha256,
    announced_rows = excluded.announced_rows,
    loaded_rows = excluded.loaded_rows,
    quarantined_rows = excluded.quarantined_rows,
    kafka_partition = excluded.kafka_partition,
    kafka_offset = excluded.kafka_offset,
    dag_run_id = excluded.dag_run_id,
    loaded_at = now()
