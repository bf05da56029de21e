-- The rows a load rejects: which rule each broke first, and the row as received (text values).
CREATE UNLOGGED TABLE rejected_rows (
    line_no bigint PRIMARY KEY,
    record_key text NOT NULL,
    broken_rule text NOT NULL,
    raw_record jsonb NOT NULL
)
