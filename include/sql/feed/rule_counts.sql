-- Rows rejected per rule, with the first rejected row of each rule as an example.
SELECT r.broken_rule AS rule,
       count(*) AS rejected,
       (array_agg(r.record_key ORDER BY r.line_no))[1] AS example_key,
       (array_agg(to_jsonb(l) - 'line_no' ORDER BY r.line_no))[1] AS example_row
FROM rejected_rows r
JOIN landed_rows l USING (line_no)
GROUP BY r.broken_rule
ORDER BY r.broken_rule
