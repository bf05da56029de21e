-- The file into the typed work table; HEADER match refuses a file whose header is not the
-- source's columns, in order (feed/sources.py).
COPY landed_rows (
    {columns}
) FROM STDIN WITH (FORMAT csv, HEADER match)
