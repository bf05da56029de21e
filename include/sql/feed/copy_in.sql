-- The good rows (copy_out.sql) into the source's target table, column for column.
COPY {target} (
    {columns}
) FROM STDIN WITH (FORMAT binary)
