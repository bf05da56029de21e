-- The fallback path's COPY: the same file into the text work table (see copy.sql).
COPY landed_text (
    {columns}
) FROM STDIN WITH (FORMAT csv, HEADER match)
