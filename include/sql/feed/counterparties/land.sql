-- The counterparty reference file as landed, with the target's types (see trades/land.sql).
CREATE UNLOGGED TABLE landed_rows (
    line_no bigint GENERATED ALWAYS AS IDENTITY,
    counterparty_id varchar(16),
    legal_name varchar(128),
    lei text,
    country_code text,
    sector varchar(32)
)
