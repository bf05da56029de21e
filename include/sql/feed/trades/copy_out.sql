-- The rows that passed every check, in file order, in binary: copied back in with
-- copy_in.sql, since COPY writes to the target in batches (INSERT ... SELECT row by row).
COPY (
    SELECT
        l.trade_id, l.business_date, l.trade_date, l.settle_date, l.desk, l.book, l.instrument_id,
        l.side, l.quantity, l.price, l.notional, l.currency, l.counterparty_id,
        l.settlement_location, l.ssi_status, l.booked_at, l.confirmed_at, l.allocated_at, l.status
    FROM landed_rows AS l
    WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = l.line_no)
    ORDER BY l.line_no
) TO STDOUT WITH (FORMAT binary)
