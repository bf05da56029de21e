-- A clean file's rows straight into the source's target table (loader._copy_straight): the
-- target's types and constraints parse and check every value as the COPY goes; a value or
-- row they refuse fails the COPY, and the file is loaded through the work table instead.
-- HEADER match refuses a file whose header is not the source's columns, in order.
COPY {target} (
    {columns}
) FROM STDIN WITH (FORMAT csv, HEADER match)
