-- What a shadow date's comparison is about to read, recorded with it (comparison_is_final.sql):
-- the scoring run of the date's scores, and the oldest transaction still running now. Taken just
-- before the date's rows are read, so every transaction below that xmin had ended when they were
-- read too (a transaction that ends in between is read, but counted as possibly missing: it is
-- only read again).
SELECT
    (SELECT s.scoring_run_id FROM ml.shadow_scores AS s WHERE s.business_date = %(business_date)s LIMIT 1)
        AS scoring_run_id,
    pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS inputs_xmin
