-- One shadow date's trades, scored by both the champion and the challenger, with the outcome
-- where it was known by %(known_by)s: the rule of the training labels
-- (model_pod/settlement_model/sql/training_set.sql): the trade's settle date is on or before
-- known_by and an outcome was reported by then; failed if any reported outcome was 'failed'.
-- A trade pending on the date settles after it, so its outcomes lie after the date.
-- The outcomes are looked up per trade whose settle date has come (the primary key of
-- ops.settlement_outcomes, trade_id first), not grouped for every trade reported in the range:
-- for a date 20 business days back that range is 20 days of outcomes (4.7 M trades at 250k a
-- day, a hash spilled to disk: 5.8 s), against the 0.37 M lookups of the date's trades (2.7 s
-- in all; docs/bench/shadow_outcomes_lookback_before.plan.txt / _after.plan.txt). The
-- comparison reads every date of its lookback that is not final yet (comparison_is_final.sql).
SELECT
    s.model_name::text AS model_name,
    c.model_version::text AS champion_version,
    s.model_version::text AS challenger_version,
    c.score AS champion_score,
    s.score AS challenger_score,
    CASE WHEN t.settle_date <= %(known_by)s THEN (
        SELECT bool_or(o.outcome = 'failed')
        FROM ops.settlement_outcomes AS o
        WHERE o.trade_id = s.trade_id
          AND o.business_date > %(business_date)s
          AND o.business_date <= %(known_by)s
    ) END AS failed
FROM ml.shadow_scores AS s
-- The champion's rows of the same run: a later run of the date without a challenger replaced
-- them, and the date's shadow rows then compare with nothing.
JOIN ml.trade_scores AS c
    ON c.business_date = s.business_date AND c.trade_id = s.trade_id AND c.scoring_run_id = s.scoring_run_id
-- A trade scored on a date was pending on it (model_pod/settlement_model/sql/pending_trades.sql):
-- booked in the 31 days up to it and settling after it. So bounded, the join reads those trades
-- from an index instead of hashing every trade of the warehouse (31 M rows at 1M trades a day).
-- The rule reads the trade as it stands now, as the training labels do (training_set.sql): a
-- trade whose settle date were amended to on or before the date would leave both, alike.
JOIN ops.trades AS t
    ON t.trade_id = s.trade_id
    AND t.business_date > %(business_date)s::date - 31
    AND t.business_date <= %(business_date)s
    AND t.settle_date > %(business_date)s
WHERE s.business_date = %(business_date)s
