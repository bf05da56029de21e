-- Whether a shadow date's stored comparison is final: computing it again would give the same
-- row, so the night skips the date instead of reading its trades again (a few seconds a date at
-- 1M trades a day, some 20 dates in the lookback; most are final after a few days). Final when
-- the row of the date's current challenger:
--   * knows every trade's outcome (realised = scored: later outcomes change nothing; the rule
--     of shadow_outcomes.sql counts a trade once its settle date passed and an outcome came);
--   * compared the scores the date holds now: both partitions are still of the row's scoring
--     run (a rerun of the date's scoring replaces them);
--   * read every load of its inputs: no file of the trades the date can have scored (booked in
--     the 31 days up to it) nor of the outcomes it read (reported after it, up to the row's
--     outcomes_known_by) was merged by a transaction from the row's inputs_xmin on
--     (ops.feed_loads, include/sql/feed/record_load.sql): a corrected file reloaded since is
--     read again. Loads below that transaction id had ended when the row read its inputs.
-- A row written before migration 0013 has no scoring run nor xmin: not final.
WITH current_shadow AS (
    SELECT s.model_name, s.model_version, s.scoring_run_id
    FROM ml.shadow_scores AS s
    WHERE s.business_date = %(business_date)s
    LIMIT 1
),
current_champion AS (
    SELECT c.scoring_run_id
    FROM ml.trade_scores AS c
    WHERE c.business_date = %(business_date)s
    LIMIT 1
)
SELECT EXISTS (
    SELECT
    FROM current_shadow AS s
    JOIN current_champion AS c ON c.scoring_run_id = s.scoring_run_id
    JOIN ml.shadow_comparisons AS r
        ON r.business_date = %(business_date)s
        AND r.model_name = s.model_name
        AND r.challenger_version = s.model_version
        AND r.scoring_run_id = s.scoring_run_id
    WHERE r.realised_trades = r.scored_trades
      AND r.inputs_xmin IS NOT NULL
      AND NOT EXISTS (
          SELECT
          FROM ops.feed_loads AS l
          WHERE l.load_xact_id >= r.inputs_xmin
            AND (
                (l.source = 'trades' AND l.business_date > r.business_date - 31 AND l.business_date <= r.business_date)
                OR (l.source = 'settlement_outcomes'
                    AND l.business_date > r.business_date AND l.business_date <= r.outcomes_known_by)
            )
      )
) AS final
