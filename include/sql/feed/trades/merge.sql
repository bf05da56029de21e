-- Good rows into ops.trades, keyed by trade_id, when some of them are there already (a rerun;
-- the first load of a day is a plain COPY: copy_in.sql): a rerun rewrites nothing that did not change.
-- The file's status is the booking system's ('pending' or 'cancelled'); a trade's settlement
-- status comes from its outcomes (settlement_outcomes/refresh_loaded_status.sql), so an
-- existing status is kept unless the trade is (or was) cancelled. The column lists are the
-- source's (feed/sources.py); those updated are all but trade_id and status.
INSERT INTO ops.trades AS t (
    {columns}
)
SELECT
    {landed_columns}
FROM landed_rows AS l
WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = l.line_no)
ON CONFLICT (trade_id) DO UPDATE SET
    ({updated_columns}) = ROW({excluded_updated_columns}),
    status = CASE
        WHEN excluded.status = 'cancelled' THEN 'cancelled'
        WHEN t.status = 'cancelled' THEN 'pending'
        ELSE t.status
    END
WHERE (
    {target_updated_columns}, t.status = 'cancelled'
) IS DISTINCT FROM (
    {excluded_updated_columns}, excluded.status = 'cancelled'
)
