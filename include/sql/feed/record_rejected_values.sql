-- The values of the rows the rules rejected (check.sql and the source's extra checks name
-- them; check_text.sql records its own): each row's typed values as text, keyed by column.
-- Nothing to read for a clean file: the join stops at its empty side.
UPDATE rejected_rows AS r
SET raw_record = (SELECT jsonb_object_agg(key, value) FROM jsonb_each_text(to_jsonb(l) - 'line_no'))
FROM landed_rows AS l
WHERE r.raw_record IS NULL
  AND l.line_no = r.line_no
