CREATE UNLOGGED TABLE landed_rows (
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
