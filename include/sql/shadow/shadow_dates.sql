-- The business dates scored in shadow in the comparison's lookback, up to the run's date: one
-- probe of each calendar day's partition (its primary key), not a scan of the scores.
SELECT day::date AS business_date
FROM generate_series(%(since)s::date + 1, %(known_by)s::date, interval '1 day') AS day
WHERE EXISTS (SELECT FROM ml.shadow_scores AS s WHERE s.business_date = day::date)
ORDER BY 1
