-- The rows just copied straight into the target (the date's rows, which are the file's alone:
-- date_rows_exist.sql) as the work table landed_rows, with its columns and types, so that the
-- source's check.sql and merge steps read them as they read a landed file. Reading them back
-- costs less than landing the file (no CSV to parse). A table, not a view over the target: the
-- target's statistics do not know the date's new rows yet (the checks, planned for one row,
-- compared every row with every other). line_no numbers the rows (the duplicate rules compare
-- them); a rejected row sends the file through the work table, whose line numbers are the file's.
-- The loader compares this statement's row count with the COPY's: a row of another date in the
-- file went elsewhere in the target, unchecked, and sends the file through the work table too.
CREATE UNLOGGED TABLE landed_rows AS
SELECT
    row_number() OVER () AS line_no,
    {target_as_landed}
FROM {target} AS t
WHERE t.business_date = %(business_date)s
