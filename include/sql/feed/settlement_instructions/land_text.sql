-- The fallback when a value of the file cannot be parsed: every value as text.
CREATE UNLOGGED TABLE landed_text (
    line_no bigint GENERATED ALWAYS AS IDENTITY,
    ssi_id text,
    counterparty_id text,
    settlement_location text,
    currency text,
    custodian_bic text,
    safekeeping_account text,
    valid_from text,
    valid_to text
)
