-- The business date's shadow scores once swapped: what the swap checks before it commits (the
-- challenger the plan named, this run's rows) and reports. A few groups, then summed.
SELECT
    coalesce(sum(n), 0)::bigint AS row_count,
    coalesce(array_agg(DISTINCT model_version), ARRAY[]::text[]) AS model_versions,
    coalesce(array_agg(DISTINCT scoring_run_id), ARRAY[]::text[]) AS scoring_run_ids
FROM (
    SELECT model_version::text AS model_version, scoring_run_id::text AS scoring_run_id, count(*) AS n
    FROM ml.shadow_scores
    WHERE business_date = %(business_date)s
    GROUP BY 1, 2
) AS grouped
