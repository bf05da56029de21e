-- The rows that passed every check, in file order, in binary: copied back in with
-- copy_in.sql, since COPY writes to the target in batches (INSERT ... SELECT row by row).
COPY (
    SELECT
        {landed_columns}
    FROM landed_rows AS l
    WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = l.line_no)
    ORDER BY l.line_no
) TO STDOUT WITH (FORMAT binary)
