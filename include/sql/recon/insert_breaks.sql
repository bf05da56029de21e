-- Reconcile business date D = %(business_date)s: the bank's open trades against the custodians'
-- statement of D (ops.custodian_confirmations), matched on the trade reference; classify every
-- break, age it against the previous reconciled date, and insert D's rows into
-- reporting.recon_breaks (delete_breaks.sql removed them first, in the same transaction).
--
-- Bind parameters
--   business_date                 date     the statement date D
--   due_after                     date     the operations business day before D (see "open trades" below)
--   recent_since                  date     D minus 31 days: open fails were reported after it
--   due_by                        date     D plus 31 days: open trades not yet due are due by then
--   previous_date                 date     latest earlier reconciled date (previous_reconciled_date.sql), or NULL
--   business_days_since_previous  integer  operations business days from previous_date to D
--   price_tolerance_bp            numeric  price differences up to this many basis points of the bank's price are not breaks
--   quantity_tolerance            numeric  absolute quantity difference that is not a break (0: exact)
--   custodian                     text     NULL: every custodian's statement; else that custodian's only
--   settlement_locations          text[]   NULL: every trade; else the trades in these locations (the custodian's)
--
-- One custodian's reconciliation (its statement just landed: statements/tasks.py) is the same
-- match restricted to that custodian's rows and the trades it holds, so the custodians' runs
-- together write the rows the whole date's run writes. With both NULL, the restrictions are
-- constant-true for the planner and cost nothing.
--
-- The bank's open trades as of D (exactly the population the custodians' statement of D lists):
-- booked on or before D (business_date <= D), not cancelled, and no 'settled' outcome reported
-- on or before D. A trade whose settlement is reported on D is off D's statement; a failed trade
-- stays on it until its settlement is reported.
-- Written so that indexes serve it instead of a scan of the whole trade history or of all the
-- outcomes, in three disjoint parts:
--   due after D: open. Settlement never happens before the intended settlement date (a CSD
--     settles on or after it), so no settlement can have been reported yet
--     (ix_trades_settle_date: about a day or two of bookings). Settlement cycles are at most
--     T+5 business days (ops.instruments), and the feed quarantines a settle date more than 31
--     days after the trade date (settlement_cycle_too_long), so such a trade is due within 31
--     days of D: that bound keeps a backfill of an old date to a month of the settle_date index
--     (the rows of a month of settle dates read, those booked after D filtered out). The bound
--     is on the settle date, the column the index reads, and not on the booking date (booked
--     within 31 days, as true): the planner takes the two dates' ranges as independent, so at
--     volume, with months of bookings in the table, it estimated a seventh of the rows, and
--     with some statistics ANDed the business_date index's two million entries into the scan
--     and probed the outcomes' primary key for each trade due on D (the benchmark's 1M x 1M
--     after a VACUUM ANALYZE, timed in a lab: this statement 2.1 -> 1.7 s;
--     docs/bench/recon_insert_breaks_before.plan.txt).
--   due after the previous operations business day and on or before D: open unless a
--     'settled' outcome was reported since that day (ix_trades_settle_date, and
--     ix_settlement_outcomes_business_date for one day of outcomes).
--   due on or before the previous business day and failed: open until its settlement (late,
--     days_late > 0) is reported. Fails reported in the last 31 days minus the late settlements
--     reported since (the partial indexes ix_settlement_outcomes_failed_business_date and
--     ix_settlement_outcomes_late_business_date: a few percent of a month of outcomes). A fail
--     outstanding for more than 31 days is the buy-in process's, not this match's: if the
--     custodian still lists it, it shows as missing_internal, so it stays visible.
-- Outcomes are reported with the feed of their settle date (the next operations business day
-- when the market settles on a US holiday), so a trade due on or before the previous business
-- day with no outcome at all is a gap in the outcome feed and is left out.
--
-- One row per (trade_ref, break_type): a trade can break on several fields at once.
WITH scoped_instruments AS (
    SELECT i.instrument_id
    FROM ops.instruments AS i
    WHERE i.settlement_location = ANY(%(settlement_locations)s::text[])
),
not_yet_due AS (
    SELECT t.trade_id, t.quantity, t.price, t.settle_date, t.counterparty_id, t.instrument_id, t.notional
    FROM ops.trades AS t
    WHERE t.settle_date > %(business_date)s
      AND t.settle_date <= %(due_by)s
      AND t.business_date <= %(business_date)s
      AND t.status <> 'cancelled'
      AND (%(settlement_locations)s::text[] IS NULL OR t.instrument_id IN (SELECT instrument_id FROM scoped_instruments))
),
due_since_previous_day AS (
    SELECT t.trade_id, t.quantity, t.price, t.settle_date, t.counterparty_id, t.instrument_id, t.notional
    FROM ops.trades AS t
    WHERE t.settle_date > %(due_after)s
      AND t.settle_date <= %(business_date)s
      AND t.business_date <= %(business_date)s
      AND t.status <> 'cancelled'
      AND (%(settlement_locations)s::text[] IS NULL OR t.instrument_id IN (SELECT instrument_id FROM scoped_instruments))
      AND NOT EXISTS (
          SELECT 1
          FROM ops.settlement_outcomes AS s
          WHERE s.trade_id = t.trade_id
            AND s.outcome = 'settled'
            -- reported on or after the settle date, so after the previous business day
            AND s.business_date > %(due_after)s
            AND s.business_date <= %(business_date)s
      )
),
open_fails AS (
    SELECT f.trade_id
    FROM ops.settlement_outcomes AS f
    WHERE f.outcome = 'failed'
      AND f.business_date > %(recent_since)s
      AND f.business_date <= %(business_date)s
    EXCEPT
    -- The settlement of a fail of the window is reported after it, so within the window too.
    SELECT s.trade_id
    FROM ops.settlement_outcomes AS s
    WHERE s.outcome = 'settled'
      AND s.days_late > 0
      AND s.business_date > %(recent_since)s
      AND s.business_date <= %(business_date)s
),
failed_earlier AS (
    SELECT t.trade_id, t.quantity, t.price, t.settle_date, t.counterparty_id, t.instrument_id, t.notional
    FROM open_fails AS f
    JOIN ops.trades AS t ON t.trade_id = f.trade_id
    WHERE t.settle_date <= %(due_after)s
      AND t.business_date <= %(business_date)s
      AND t.status <> 'cancelled'
      AND (%(settlement_locations)s::text[] IS NULL OR t.instrument_id IN (SELECT instrument_id FROM scoped_instruments))
),
open_trades AS (
    SELECT * FROM not_yet_due
    UNION ALL
    SELECT * FROM due_since_previous_day
    UNION ALL
    SELECT * FROM failed_earlier
),
statement AS (
    SELECT s.trade_ref, s.quantity, s.price, s.settle_date, s.counterparty_id
    FROM ops.custodian_confirmations AS s
    WHERE s.business_date = %(business_date)s
      AND (%(custodian)s::text IS NULL OR s.custodian = %(custodian)s::text)
),
-- Both sides are matched on the reference: the join is the bulk of the work. The statement, which
-- the join hashes, brings only the compared fields (the hash's width is what it costs, make
-- bench); the bank's side, streamed through the join, also brings the instrument and notional a
-- break reports (about a twentieth faster than looking them up by primary key for each break, on
-- 1M x 1M). The custodian's instrument of a missing_internal break is looked up afterwards.
differing AS (
    SELECT
        o.trade_id,
        s.trade_ref AS statement_ref,
        o.quantity AS bank_quantity,
        s.quantity AS custodian_quantity,
        o.price AS bank_price,
        s.price AS custodian_price,
        o.settle_date AS bank_settle_date,
        s.settle_date AS custodian_settle_date,
        o.counterparty_id AS bank_counterparty,
        o.instrument_id AS bank_instrument,
        o.notional AS bank_notional,
        s.counterparty_id AS custodian_counterparty
    FROM open_trades AS o
    FULL OUTER JOIN statement AS s ON s.trade_ref = o.trade_id
    WHERE s.trade_ref IS NULL
       OR o.trade_id IS NULL
       OR o.quantity <> s.quantity
       OR o.price <> s.price
       OR o.settle_date <> s.settle_date
       OR o.counterparty_id <> s.counterparty_id
),
classified AS (
    SELECT p.*, b.break_type
    FROM differing AS p
    CROSS JOIN LATERAL (
        VALUES
            ('missing_at_custodian', p.statement_ref IS NULL),
            ('missing_internal', p.trade_id IS NULL),
            ('quantity_mismatch', abs(p.bank_quantity - p.custodian_quantity) > %(quantity_tolerance)s),
            -- |custodian - bank| / bank > tolerance / 10^4, without a division
            ('price_mismatch', abs(p.custodian_price - p.bank_price) * 10000 > %(price_tolerance_bp)s * p.bank_price),
            ('settle_date_mismatch', p.bank_settle_date <> p.custodian_settle_date),
            ('counterparty_mismatch', p.bank_counterparty <> p.custodian_counterparty)
    ) AS b (break_type, is_break)
    WHERE b.is_break
),
found AS (
    SELECT
        coalesce(c.trade_id, c.statement_ref) AS trade_ref,
        c.break_type,
        coalesce(c.bank_counterparty, c.custodian_counterparty) AS counterparty_id,
        coalesce(c.bank_instrument, custodian.instrument_id) AS instrument_id,
        CASE c.break_type
            WHEN 'missing_at_custodian' THEN
                c.bank_quantity::text || ' @ ' || c.bank_price::text || ' settling ' || c.bank_settle_date::text
            WHEN 'quantity_mismatch' THEN c.bank_quantity::text
            WHEN 'price_mismatch' THEN c.bank_price::text
            WHEN 'settle_date_mismatch' THEN c.bank_settle_date::text
            WHEN 'counterparty_mismatch' THEN c.bank_counterparty::text
        END AS internal_value,
        CASE c.break_type
            WHEN 'missing_internal' THEN
                c.custodian_quantity::text || ' @ ' || c.custodian_price::text
                    || ' settling ' || c.custodian_settle_date::text
            WHEN 'quantity_mismatch' THEN c.custodian_quantity::text
            WHEN 'price_mismatch' THEN c.custodian_price::text
            WHEN 'settle_date_mismatch' THEN c.custodian_settle_date::text
            WHEN 'counterparty_mismatch' THEN c.custodian_counterparty::text
        END AS custodian_value,
        coalesce(c.bank_notional, round(c.custodian_quantity * c.custodian_price, 2)) AS notional
    FROM classified AS c
    -- LIMIT 1 (the key is unique anyway) keeps this a primary-key lookup per break: pulled up
    -- into a join, the planner would merge the whole statement history with it.
    LEFT JOIN LATERAL (
        SELECT s.instrument_id
        FROM ops.custodian_confirmations AS s
        WHERE c.trade_id IS NULL AND s.business_date = %(business_date)s AND s.trade_ref = c.statement_ref
        LIMIT 1
    ) AS custodian ON true
),
previous AS (
    SELECT r.*
    FROM reporting.recon_breaks AS r
    WHERE r.business_date = %(previous_date)s
      AND r.status = 'open'
      AND (%(settlement_locations)s::text[] IS NULL OR r.instrument_id IN (SELECT instrument_id FROM scoped_instruments))
)
INSERT INTO reporting.recon_breaks (
    business_date, trade_ref, break_type, status, first_seen_date, age_business_days, resolved_date,
    counterparty_id, instrument_id, internal_value, custodian_value, notional
)
SELECT
    %(business_date)s,
    coalesce(f.trade_ref, p.trade_ref),
    coalesce(f.break_type, p.break_type),
    CASE WHEN f.trade_ref IS NULL THEN 'resolved' ELSE 'open' END,
    coalesce(p.first_seen_date, %(business_date)s),
    CASE WHEN p.trade_ref IS NULL THEN 0 ELSE p.age_business_days + %(business_days_since_previous)s END,
    CASE WHEN f.trade_ref IS NULL THEN %(business_date)s END,
    -- A resolved break keeps the values it was last seen with.
    CASE WHEN f.trade_ref IS NULL THEN p.counterparty_id ELSE f.counterparty_id END,
    CASE WHEN f.trade_ref IS NULL THEN p.instrument_id ELSE f.instrument_id END,
    CASE WHEN f.trade_ref IS NULL THEN p.internal_value ELSE f.internal_value END,
    CASE WHEN f.trade_ref IS NULL THEN p.custodian_value ELSE f.custodian_value END,
    CASE WHEN f.trade_ref IS NULL THEN p.notional ELSE f.notional END
FROM found AS f
FULL OUTER JOIN previous AS p
    ON p.trade_ref = f.trade_ref
   AND p.break_type = f.break_type
