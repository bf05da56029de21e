-- The foreign keys added back as they were: adding one checks every row in one query (an
-- anti-join), so a seeded row that references nothing fails the seed and nothing is kept.
DO $$
DECLARE
    foreign_key record;
BEGIN
    FOR foreign_key IN SELECT table_name, constraint_name, definition FROM seeded_foreign_keys LOOP
        EXECUTE format(
            'ALTER TABLE %s ADD CONSTRAINT %I %s',
            foreign_key.table_name, foreign_key.constraint_name, foreign_key.definition
        );
    END LOOP;
END
$$
