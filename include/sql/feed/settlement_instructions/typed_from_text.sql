-- Fallback path: the rows check_text.sql let through, cast into landed_rows.
INSERT INTO landed_rows (
    line_no, ssi_id, counterparty_id, settlement_location, currency, custodian_bic,
    safekeeping_account, valid_from, valid_to
) OVERRIDING SYSTEM VALUE
SELECT
    t.line_no, t.ssi_id, t.counterparty_id, t.settlement_location, t.currency, t.custodian_bic,
    t.safekeeping_account, t.valid_from::date, t.valid_to::date
FROM landed_text AS t
WHERE NOT EXISTS (SELECT FROM rejected_rows AS r WHERE r.line_no = t.line_no)
