-- The file just merged, as the date's last load of its source (ops.feed_loads), in the load's
-- transaction: its transaction id lets a reader that kept the snapshot it read in (a shadow
-- comparison, include/sql/shadow/comparison_is_final.sql) tell whether this load may be missing
-- from what it read; upserted, whether it may have rewritten rows of other dates.
INSERT INTO ops.feed_loads (
    source, business_date, received_rows, loaded_rows, quarantined_rows, upserted, dag_run_id, load_xact_id,
    loaded_at
) VALUES (
    %(source)s, %(business_date)s, %(received_rows)s, %(loaded_rows)s, %(quarantined_rows)s, %(upserted)s,
    %(dag_run_id)s,
    pg_current_xact_id()::text::bigint, now()
)
ON CONFLICT (source, business_date) DO UPDATE SET
    received_rows = excluded.received_rows,
    loaded_rows = excluded.loaded_rows,
    quarantined_rows = excluded.quarantined_rows,
    upserted = excluded.upserted,
    dag_run_id = excluded.dag_run_id,
    load_xact_id = excluded.load_xact_id,
    loaded_at = excluded.loaded_at
