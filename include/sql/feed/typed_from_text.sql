-- Fallback path: the rows <source>/check_text.sql let through, cast into landed_rows (keeping
-- their line numbers) for the remaining rules and the merge: each column of
-- the text work table cast to its declared type (character columns as they are: a value too
-- long for its column fails the insert instead of being cut).
INSERT INTO landed_rows (
    line_no, {columns}
) OVERRIDING SYSTEM VALUE
SELECT
    t.line_no, {text_as_typed}
FROM landed_text AS t
WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = t.line_no)
