/*
id: aged_recon_breaks
severity: high
owner: settlement-ops
description: >
  Counterparties with reconciliation breaks open for more than min_age_business_days business
  days on the business date: one alert per counterparty with the number of aged breaks, the
  oldest, the break types and the notional at stake. Escalate with the counterparty and the
  custodian.
parameters:
  min_age_business_days:
    type: int
    default: 5
    description: a break older than this many business days is aged
*/
WITH aged AS (
    SELECT
        coalesce(b.counterparty_id, '(unknown)') AS counterparty_id,
        b.trade_ref, b.break_type, b.age_business_days, b.first_seen_date, b.notional
    FROM reporting.recon_breaks AS b
    WHERE b.business_date = %(business_date)s
      AND b.status = 'open'
      AND b.age_business_days > %(min_age_business_days)s
),
by_type AS (
    SELECT counterparty_id, jsonb_object_agg(break_type, breaks ORDER BY break_type) AS breaks_by_type
    FROM (SELECT counterparty_id, break_type, count(*) AS breaks FROM aged GROUP BY 1, 2) AS t
    GROUP BY counterparty_id
)
SELECT
    a.counterparty_id AS entity_key,
    jsonb_build_object(
        'aged_breaks', count(*),
        'oldest_age_business_days', max(a.age_business_days),
        'oldest_first_seen_date', min(a.first_seen_date),
        'notional', coalesce(sum(a.notional), 0),
        'breaks_by_type', t.breaks_by_type,
        'oldest_trade_refs', to_jsonb(
            (array_agg(a.trade_ref ORDER BY a.age_business_days DESC, a.trade_ref))[1:10]
        ),
        'min_age_business_days', %(min_age_business_days)s
    ) AS details
FROM aged AS a
JOIN by_type AS t USING (counterparty_id)
GROUP BY a.counterparty_id, t.breaks_by_type
ORDER BY a.counterparty_id
