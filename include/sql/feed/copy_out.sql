-- The rows that passed every check, in binary: copied back in with copy_in.sql, since COPY
-- writes to the target in batches (INSERT ... SELECT row by row).
-- No ORDER BY: one COPY filled the work table in this transaction and nothing updates it, so
-- its scan returns the rows in file order in practice, and nothing depends on the order they
-- reach ops.* in (every reader orders its own rows). Sorting every good row by line_no cost 6%
-- of the load (61.0 -> 57.5 s for four days of 250k trades, statements and outcomes).
COPY (
    SELECT
        {landed_columns}
    FROM landed_rows AS l
    WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = l.line_no)
) TO STDOUT WITH (FORMAT binary)
