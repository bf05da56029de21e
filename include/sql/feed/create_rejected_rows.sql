-- The rows a load rejects: which rule each broke first, and the row as received (text values).
-- The rules (check.sql) name the rows; their values are recorded afterwards, for the rejected
-- rows only (record_rejected_values.sql): the whole row carried through the rules' joins cost
-- a sixth of a clean file's check. check_text.sql records the text values it read itself.
CREATE UNLOGGED TABLE rejected_rows (
    line_no bigint PRIMARY KEY,
    record_key text NOT NULL,
    broken_rule text NOT NULL,
    raw_record jsonb
)
