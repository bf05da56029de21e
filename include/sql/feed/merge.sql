-- Good rows into the source's target, keyed by its key column: a rerun rewrites nothing that
-- did not change. The reference sources' merge; a source with a merge of its own has a
-- <source>/merge.sql (trades: the status is not the file's to overwrite).
INSERT INTO {target} AS t (
    {columns}
)
SELECT
    {landed_columns}
FROM landed_rows AS l
WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = l.line_no)
ON CONFLICT ({key}) DO UPDATE SET
    ({updated_columns}) = ROW({excluded_updated_columns})
WHERE ({target_updated_columns}) IS DISTINCT FROM ({excluded_updated_columns})
