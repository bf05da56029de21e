-- What one shard's staging work table holds, checked before it is swapped in:
-- rows, rows of another date, and the model versions and runs that wrote them.
-- Grouped first (a hash aggregate of a few groups), then summed: DISTINCT aggregates over every
-- row would sort the whole shard.
SELECT
    coalesce(sum(n), 0)::bigint AS row_count,
    coalesce(sum(n) FILTER (WHERE other_date), 0)::bigint AS other_dates,
    coalesce(array_agg(DISTINCT model_version), ARRAY[]::text[]) AS model_versions,
    coalesce(array_agg(DISTINCT scoring_run_id), ARRAY[]::text[]) AS scoring_run_ids
FROM (
    SELECT business_date <> %(business_date)s AS other_date,
           model_version::text AS model_version,
           scoring_run_id::text AS scoring_run_id,
           count(*) AS n
    FROM {staging_table}
    GROUP BY 1, 2, 3
) AS grouped
