-- Whether an index of this name exists and is INVALID: what a failed CREATE INDEX CONCURRENTLY
-- (or DROP INDEX CONCURRENTLY) leaves behind. No row when there is no such index.
SELECT NOT i.indisvalid AS is_invalid
FROM pg_index AS i
JOIN pg_class AS c ON c.oid = i.indexrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = :schema AND c.relname = :name
