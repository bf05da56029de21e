-- Whether a shadow date's stored comparison is final: computing it again would give the same
-- row, so the night skips the date instead of reading its trades again (a few seconds a date at
-- 1M trades a day, some 20 dates in the lookback; most are final after a few days). Final when
-- the row of the date's current challenger:
--   * knows every trade's outcome (realised = scored). A label is whether any outcome reported
--     by then was 'failed' (shadow_outcomes.sql): events reported later only settle a failed
--     trade late; a trade that settled does not fail afterwards (the feed quarantines such an
--     event: failed_after_settlement, include/sql/feed/settlement_outcomes/check.sql);
--   * compared the date's partitions as they are now (scores_tables, comparison_inputs.sql):
--     any rescoring of the date swaps in new ones;
--   * read every load that can have changed its inputs (ops.feed_loads, written by the feed's
--     loader with its transaction id, include/sql/feed/record_load.sql): none that is not
--     visible in the snapshot the row read in (inputs_snapshot: still running then, or later) of
--     the outcomes it read (reported after the date, up to its outcomes_known_by: an outcome is
--     only ever written by its reporting date's file), nor of a trades file that went in by
--     upsert over loaded trades (a rerun, or trades re-sent: they can be of any date; a plain
--     COPY of new trades changes no scored one).
-- A row written before migration 0013 has none of these columns: not final.
WITH current_shadow AS (
    SELECT s.model_name, s.model_version
    FROM ml.shadow_scores AS s
    WHERE s.business_date = %(business_date)s
    LIMIT 1
),
current_tables AS (
    SELECT
        (SELECT c.tableoid FROM ml.trade_scores AS c WHERE c.business_date = %(business_date)s LIMIT 1)::text
            || '/'
            || (SELECT s.tableoid FROM ml.shadow_scores AS s WHERE s.business_date = %(business_date)s LIMIT 1)::text
            AS scores_tables
)
SELECT EXISTS (
    SELECT
    FROM current_shadow AS s
    CROSS JOIN current_tables AS tables
    JOIN ml.shadow_comparisons AS r
        ON r.business_date = %(business_date)s
        AND r.model_name = s.model_name
        AND r.challenger_version = s.model_version
        AND r.scores_tables = tables.scores_tables
    WHERE r.realised_trades = r.scored_trades
      AND r.inputs_snapshot IS NOT NULL
      AND NOT EXISTS (
          SELECT
          FROM ops.feed_loads AS l
          WHERE (
                NOT pg_visible_in_snapshot(l.load_xact_id::text::xid8, r.inputs_snapshot::pg_snapshot)
                -- or later than the row: in a warehouse restored from a dump, transaction ids
                -- start again, and a new load's could look older than the row's snapshot
                OR l.loaded_at > r.computed_at
            )
            AND (
                (l.source = 'settlement_outcomes'
                    AND l.business_date > r.business_date AND l.business_date <= r.outcomes_known_by)
                OR (l.source = 'trades' AND l.upserted)
            )
      )
) AS final
