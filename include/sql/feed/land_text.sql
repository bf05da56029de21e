-- The fallback when a value of the file cannot be parsed: every value as text (see land.sql).
-- The columns are the source's (feed/sources.py), each as text.
CREATE UNLOGGED TABLE landed_text (
    line_no bigint GENERATED ALWAYS AS IDENTITY,
    {text_columns}
)
