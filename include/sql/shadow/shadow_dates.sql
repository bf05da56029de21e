-- The business dates scored in shadow in the comparison's lookback, up to the run's date (a few
-- dozen at most: the DISTINCT reads the partitions' primary key indexes).
SELECT DISTINCT business_date
FROM ml.shadow_scores
WHERE business_date > %(since)s AND business_date <= %(known_by)s
ORDER BY business_date
