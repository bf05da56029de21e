-- The business date's scores once swapped: what the manifest and the run summary report.
SELECT
    count(*) AS row_count,
    count(*) FILTER (WHERE risk_band = 'high') AS high,
    count(*) FILTER (WHERE risk_band = 'medium') AS medium,
    count(*) FILTER (WHERE risk_band = 'low') AS low,
    coalesce(array_agg(DISTINCT model_version::text), ARRAY[]::text[]) AS model_versions
FROM ml.trade_scores
WHERE business_date = %(business_date)s
