-- The standing settlement instructions file as landed, with the target's types (see trades/land.sql).
CREATE UNLOGGED TABLE landed_rows (
    line_no bigint GENERATED ALWAYS AS IDENTITY,
    ssi_id varchar(24),
    counterparty_id text,
    settlement_location varchar(16),
    currency text,
    custodian_bic text,
    safekeeping_account varchar(34),
    valid_from date,
    valid_to date
)
