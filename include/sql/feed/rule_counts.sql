-- Rows rejected per rule, with the first rejected row of each rule as an example.
SELECT broken_rule AS rule,
       count(*) AS rejected,
       (array_agg(record_key ORDER BY line_no))[1] AS example_key,
       (array_agg(raw_record ORDER BY line_no))[1] AS example_row
FROM rejected_rows
GROUP BY broken_rule
ORDER BY broken_rule
