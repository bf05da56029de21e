-- The business date's scores once swapped: what the manifest and the run summary report, and
-- what the swap checks before it commits (one model version, one scoring run: the plan's).
-- Grouped by band, version and run first (a hash aggregate of a few groups), then summed: a
-- DISTINCT aggregate over every row would sort the whole date.
SELECT
    coalesce(sum(n), 0)::bigint AS row_count,
    coalesce(sum(n) FILTER (WHERE risk_band = 'high'), 0)::bigint AS high,
    coalesce(sum(n) FILTER (WHERE risk_band = 'medium'), 0)::bigint AS medium,
    coalesce(sum(n) FILTER (WHERE risk_band = 'low'), 0)::bigint AS low,
    coalesce(array_agg(DISTINCT model_version), ARRAY[]::text[]) AS model_versions,
    coalesce(array_agg(DISTINCT scoring_run_id), ARRAY[]::text[]) AS scoring_run_ids
FROM (
    SELECT risk_band, model_version::text AS model_version, scoring_run_id::text AS scoring_run_id,
           count(*) AS n
    FROM ml.trade_scores
    WHERE business_date = %(business_date)s
    GROUP BY 1, 2, 3
) AS grouped
