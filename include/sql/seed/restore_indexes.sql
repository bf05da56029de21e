-- The indexes built again as they were, each in one pass over its table (sorted in memory up
-- to maintenance_work_mem, set for this transaction only), the primary keys before the
-- foreign keys that need them (restore_foreign_keys.sql runs after this).
DO $$
DECLARE
    seeded_index record;
BEGIN
    PERFORM set_config('maintenance_work_mem', '1GB', true);
    FOR seeded_index IN SELECT create_statement FROM seeded_indexes LOOP
        EXECUTE seeded_index.create_statement;
    END LOOP;
END
$$
