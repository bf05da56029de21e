-- The business date's scores once swapped: what the manifest and the run summary report.
-- Grouped by band and version first (a hash aggregate), then summed: a DISTINCT aggregate over
-- every row would sort the whole date.
SELECT
    coalesce(sum(n), 0)::bigint AS row_count,
    coalesce(sum(n) FILTER (WHERE risk_band = 'high'), 0)::bigint AS high,
    coalesce(sum(n) FILTER (WHERE risk_band = 'medium'), 0)::bigint AS medium,
    coalesce(sum(n) FILTER (WHERE risk_band = 'low'), 0)::bigint AS low,
    coalesce(array_agg(DISTINCT model_version), ARRAY[]::text[]) AS model_versions
FROM (
    SELECT risk_band, model_version::text AS model_version, count(*) AS n
    FROM ml.trade_scores
    WHERE business_date = %(business_date)s
    GROUP BY 1, 2
) AS grouped
