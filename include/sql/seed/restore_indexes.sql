-- The secondary indexes built again as they were, each in one pass over its table (sorted in
-- memory up to maintenance_work_mem, set for this transaction only).
DO $$
DECLARE
    seeded_index record;
BEGIN
    PERFORM set_config('maintenance_work_mem', '1GB', true);
    FOR seeded_index IN SELECT definition FROM seeded_indexes LOOP
        EXECUTE seeded_index.definition;
    END LOOP;
END
$$
