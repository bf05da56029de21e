-- What one shard's staging work table holds, checked before it is swapped in:
-- rows, rows of another date, and the model versions and runs that wrote them.
SELECT
    count(*) AS row_count,
    count(*) FILTER (WHERE business_date <> %(business_date)s) AS other_dates,
    coalesce(array_agg(DISTINCT model_version::text), ARRAY[]::text[]) AS model_versions,
    coalesce(array_agg(DISTINCT scoring_run_id::text), ARRAY[]::text[]) AS scoring_run_ids
FROM {staging_table}
