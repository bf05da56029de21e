-- Labelled rows for training and evaluation: every trade pending at the end of each as-of
-- date (pending_trades.sql, inlined where the marker below is), with whether it failed to
-- settle, as far as was known at the labels_known_by date. The job adds the features.
--
-- No leakage: a row enters only if its trade's contractual settle date is on or before
-- labels_known_by and its outcome was reported by then; the features only use what was
-- known at the end of the row's as-of date.
--
-- Parameters (set_config): those of pending_trades.sql, and
--   settlement_model.labels_known_by  the date whose knowledge of outcomes is used
SELECT
    f.*,
    l.failed,
    -- The row's sampling key (sampling.py): the same for the same trade and as-of date on
    -- every rebuild, independent of the shard hash (another seed).
    hashtextextended(f.trade_id || '|' || f.as_of_date::text, 1729) AS sample_hash
FROM (
    /* pending_trades.sql */
) AS f
JOIN (
    SELECT o.trade_id, bool_or(o.outcome = 'failed') AS failed
    FROM ops.settlement_outcomes AS o
    WHERE o.business_date <= current_setting('settlement_model.labels_known_by')::date
      -- Only the outcomes of trades the rows can have: booked within 31 days before the first
      -- as-of date or later, so reported after that (a warehouse's years of history are not
      -- grouped for a window of a few months).
      AND o.business_date > (SELECT (current_setting('settlement_model.as_of_dates')::date[])[1] - 31)
    GROUP BY o.trade_id
) AS l ON l.trade_id = f.trade_id
WHERE f.settle_date <= (SELECT current_setting('settlement_model.labels_known_by')::date)
ORDER BY f.as_of_date, f.trade_id
