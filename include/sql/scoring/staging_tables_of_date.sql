-- Every shard work table of a business date (any shard count, e.g. from an earlier run).
SELECT tablename
FROM pg_catalog.pg_tables
WHERE schemaname = 'staging' AND tablename LIKE %(pattern)s
ORDER BY tablename
