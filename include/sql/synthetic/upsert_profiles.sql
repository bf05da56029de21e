-- The counterparties' hidden fail propensities (a few hundred rows, passed as two arrays).
INSERT INTO synthetic.counterparty_profiles AS p (counterparty_id, fail_propensity)
SELECT counterparty_id, fail_propensity
FROM unnest(%(counterparty_ids)s::text[], %(fail_propensities)s::double precision[])
    AS given (counterparty_id, fail_propensity)
ON CONFLICT (counterparty_id) DO UPDATE SET fail_propensity = excluded.fail_propensity
WHERE p.fail_propensity IS DISTINCT FROM excluded.fail_propensity
