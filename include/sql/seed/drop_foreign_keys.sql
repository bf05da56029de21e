-- Each checked foreign key costs a lookup per inserted row (a trigger): with its three, a
-- COPY into ops.trades ran at a quarter of the speed. Dropped for the seed's transaction only.
DO $$
DECLARE
    foreign_key record;
BEGIN
    FOR foreign_key IN SELECT table_name, constraint_name FROM seeded_foreign_keys LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', foreign_key.table_name, foreign_key.constraint_name);
    END LOOP;
END
$$
