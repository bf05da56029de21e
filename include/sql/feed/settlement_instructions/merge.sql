INSERT INTO ops.settlement_instructions AS s (
    ssi_id, counterparty_id, settlement_location, currency, custodian_bic, safekeeping_account,
    valid_from, valid_to
)
SELECT
    l.ssi_id, l.counterparty_id, l.settlement_location, l.currency, l.custodian_bic,
    l.safekeeping_account, l.valid_from, l.valid_to
FROM landed_rows AS l
WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = l.line_no)
ON CONFLICT (ssi_id) DO UPDATE SET
    counterparty_id = excluded.counterparty_id, settlement_location = excluded.settlement_location,
    currency = excluded.currency, custodian_bic = excluded.custodian_bic,
    safekeeping_account = excluded.safekeeping_account, valid_from = excluded.valid_from,
    valid_to = excluded.valid_to
WHERE (
    s.counterparty_id, s.settlement_location, s.currency, s.custodian_bic, s.safekeeping_account,
    s.valid_from, s.valid_to
) IS DISTINCT FROM (
    excluded.counterparty_id, excluded.settlement_location, excluded.currency, excluded.custodian_bic,
    excluded.safekeeping_account, excluded.valid_from, excluded.valid_to
)
