-- The foreign keys of the tables a bulk seed writes, as the catalog defines them, kept until
-- the transaction ends: dropped for the seed (drop_foreign_keys.sql), added back from here
-- (restore_foreign_keys.sql), so they come back exactly as the migrations made them.
CREATE TEMPORARY TABLE seeded_foreign_keys ON COMMIT DROP AS
SELECT
    c.conrelid::regclass::text AS table_name,
    c.conname AS constraint_name,
    pg_get_constraintdef(c.oid) AS definition
FROM pg_constraint AS c
WHERE c.contype = 'f'
  AND c.conrelid IN ('ops.trades'::regclass, 'ops.settlement_outcomes'::regclass)
