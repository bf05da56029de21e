-- The secondary indexes of the tables a new world's bulk seed writes (every index that backs
-- no constraint: the primary keys stay), as the catalog defines them, kept until the
-- transaction ends: dropped for the seed (drop_indexes.sql) and built again from here at its
-- end (restore_indexes.sql), so they come back exactly as the migrations made them.
CREATE TEMPORARY TABLE seeded_indexes ON COMMIT DROP AS
SELECT
    i.indexrelid::regclass::text AS index_name,
    pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index AS i
WHERE i.indrelid IN (
        'ops.trades'::regclass,
        'ops.custodian_confirmations'::regclass,
        'ops.settlement_outcomes'::regclass,
        'synthetic.trade_fail_probability'::regclass,
        'synthetic.injected_breaks'::regclass
    )
  AND NOT EXISTS (SELECT FROM pg_constraint AS c WHERE c.conindid = i.indexrelid)
