-- The indexes of the tables a new world's bulk seed writes, primary keys included, as the
-- catalog defines them, kept until the transaction ends: dropped for the seed
-- (drop_indexes.sql) and built again from here at its end (restore_indexes.sql), so they come
-- back exactly as the migrations made them. A primary key is dropped and added back as its
-- constraint (the one foreign key that references a seeded table, the outcomes' to ops.trades,
-- is dropped before: remember_foreign_keys.sql); a duplicate key among the seeded rows then
-- fails the seed when its key is added back, and nothing is kept.
CREATE TEMPORARY TABLE seeded_indexes ON COMMIT DROP AS
SELECT
    CASE
        WHEN c.contype = 'p' THEN format('ALTER TABLE %s DROP CONSTRAINT %I', i.indrelid::regclass, c.conname)
        ELSE format('DROP INDEX %s', i.indexrelid::regclass)
    END AS drop_statement,
    CASE
        WHEN c.contype = 'p' THEN format(
            'ALTER TABLE %s ADD CONSTRAINT %I %s', i.indrelid::regclass, c.conname, pg_get_constraintdef(c.oid)
        )
        ELSE pg_get_indexdef(i.indexrelid)
    END AS create_statement
FROM pg_index AS i
LEFT JOIN pg_constraint AS c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
WHERE i.indrelid IN (
        'ops.trades'::regclass,
        'ops.custodian_confirmations'::regclass,
        'ops.settlement_outcomes'::regclass,
        'synthetic.trade_fail_probability'::regclass,
        'synthetic.injected_breaks'::regclass
    )
  -- The index of a unique or exclusion constraint would stay (the tables have none).
  AND (c.oid IS NULL OR c.contype = 'p')
