-- What a shadow date's comparison is about to read, recorded with it (comparison_is_final.sql):
-- the scoring run of the date's scores, the date's two partitions (their OIDs, champion/shadow:
-- each swap attaches newly created tables, so a rescoring changes them, even by a cleared run
-- under the same run id), and the current snapshot. Taken just before the date's rows are read:
-- a load visible in it was visible to that read too; one still running now, or started later,
-- is not in it, and counts as possibly missing (one that ends in between was read, but the date
-- is only read again).
SELECT
    (SELECT s.scoring_run_id FROM ml.shadow_scores AS s WHERE s.business_date = %(business_date)s LIMIT 1)
        AS scoring_run_id,
    (SELECT c.tableoid FROM ml.trade_scores AS c WHERE c.business_date = %(business_date)s LIMIT 1)::text
        || '/'
        || (SELECT s.tableoid FROM ml.shadow_scores AS s WHERE s.business_date = %(business_date)s LIMIT 1)::text
        AS scores_tables,
    pg_current_snapshot()::text AS inputs_snapshot
