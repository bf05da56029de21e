-- The landed file in a work table with the target's types, so the COPY itself parses every
-- value (fast). If a value cannot be parsed, the COPY fails and the load falls back to
-- land_text.sql (every value as text) to find and quarantine the malformed rows.
-- Enumerations and reference keys stay text: their rules (<source>/check.sql) name what is wrong.
-- line_no is the row's position in the file (1 = the first data row).
-- The columns and their types are the source's, as declared in feed/sources.py.
CREATE UNLOGGED TABLE landed_rows (
    line_no bigint GENERATED ALWAYS AS IDENTITY,
    {typed_columns}
)
