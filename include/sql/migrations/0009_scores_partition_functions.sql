-- ml.trade_scores (the champion's scores) and ml.shadow_scores (the challenger's, migration 0009)
-- are both partitioned by business date and swapped in the same way, in one transaction
-- (include/markets_ops/scoring/swap.py): these two functions replace 0005's, which knew only
-- ml.trade_scores. They run as their owner (SECURITY DEFINER: attaching and dropping a partition
-- needs the table's owner, and the pipelines connect as warehouse_writer, which must not own it)
-- and can do only this: the caller names one of the two tables (checked against that list) and
-- the business date; every identifier is derived from them here (format %I), search_path is
-- pinned, objects qualified. Read by migration 0009 (a later change is a new migration and file).
--
--   1. ml.prepare_scores_partition(table, date): an empty table ml.<table>_pYYYYMMDD_next, shaped
--      like ml.<table>, no indexes, with CHECK (business_date = date), for the shards to fill;
--   2. ml.attach_scores_partition(table, date): its indexes, then the date's previous partition
--      (and any rows of the date in the default partition) go, and it is attached in its place.
-- The CHECK constraint lets ATTACH skip the scan that proves every row belongs to the date.

CREATE FUNCTION ml.prepare_scores_partition(scores_table text, business_date date) RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    next_table text := format('%s_p%s_next', scores_table, to_char(business_date, 'YYYYMMDD'));
BEGIN
    IF scores_table IS NULL OR scores_table NOT IN ('trade_scores', 'shadow_scores') THEN
        RAISE EXCEPTION 'prepare_scores_partition: % is not ml.trade_scores or ml.shadow_scores', scores_table;
    END IF;
    IF business_date IS NULL THEN
        RAISE EXCEPTION 'prepare_scores_partition: business_date is null';
    END IF;
    -- Left over only if a caller prepared without attaching in a committed transaction.
    EXECUTE format('DROP TABLE IF EXISTS ml.%I', next_table);
    -- Owned by the function's owner; the writer may insert through the schema's default privileges.
    EXECUTE format(
        'CREATE TABLE ml.%I (LIKE ml.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS, '
        'CONSTRAINT %I CHECK (business_date = %L::date))',
        next_table, scores_table, 'ck_' || next_table || '_business_date', business_date
    );
    RETURN next_table;
END
$function$;

CREATE FUNCTION ml.attach_scores_partition(scores_table text, business_date date) RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    partition_name text := format('%s_p%s', scores_table, to_char(business_date, 'YYYYMMDD'));
    next_table text := partition_name || '_next';
    parent regclass;
    previous regclass;
BEGIN
    IF scores_table IS NULL OR scores_table NOT IN ('trade_scores', 'shadow_scores') THEN
        RAISE EXCEPTION 'attach_scores_partition: % is not ml.trade_scores or ml.shadow_scores', scores_table;
    END IF;
    IF business_date IS NULL THEN
        RAISE EXCEPTION 'attach_scores_partition: business_date is null';
    END IF;
    IF to_regclass(format('ml.%I', next_table)) IS NULL THEN
        RAISE EXCEPTION 'attach_scores_partition: ml.% does not exist (call prepare_scores_partition first)',
            next_table;
    END IF;
    parent := format('ml.%I', scores_table)::regclass;
    -- The indexes first, while readers still use the previous partition (no lock on the parent).
    EXECUTE format('ALTER TABLE ml.%I ADD CONSTRAINT %I PRIMARY KEY (business_date, trade_id)',
        next_table, next_table || '_pkey');
    EXECUTE format('CREATE INDEX %I ON ml.%I (trade_id)', next_table || '_trade_id_idx', next_table);

    -- From here to the commit, readers of the table wait (dropping a partition locks the
    -- parent): only catalog changes follow, and the date's rows in the default partition.
    previous := to_regclass(format('ml.%I', partition_name));
    IF previous IS NOT NULL THEN
        IF NOT EXISTS (
            SELECT FROM pg_catalog.pg_inherits WHERE inhrelid = previous AND inhparent = parent
        ) THEN
            RAISE EXCEPTION 'attach_scores_partition: ml.% exists but is not a partition of ml.%',
                partition_name, scores_table;
        END IF;
        EXECUTE format('DROP TABLE ml.%I', partition_name);
    END IF;
    -- Rows written straight into the table before the date had a partition: replaced too.
    EXECUTE format('DELETE FROM ml.%I WHERE business_date = $1', scores_table || '_default')
        USING business_date;

    EXECUTE format('ALTER TABLE ml.%I RENAME TO %I', next_table, partition_name);
    EXECUTE format('ALTER INDEX ml.%I RENAME TO %I', next_table || '_pkey', partition_name || '_pkey');
    EXECUTE format('ALTER INDEX ml.%I RENAME TO %I',
        next_table || '_trade_id_idx', partition_name || '_trade_id_idx');
    EXECUTE format('ALTER TABLE ml.%I ATTACH PARTITION ml.%I FOR VALUES IN (%L)',
        scores_table, partition_name, business_date);
    -- The partition bound now says the same: the table looks like any other partition.
    EXECUTE format('ALTER TABLE ml.%I DROP CONSTRAINT %I',
        partition_name, 'ck_' || next_table || '_business_date');
    RETURN partition_name;
END
$function$;

REVOKE ALL ON FUNCTION ml.prepare_scores_partition(text, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION ml.attach_scores_partition(text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ml.prepare_scores_partition(text, date) TO warehouse_writer;
GRANT EXECUTE ON FUNCTION ml.attach_scores_partition(text, date) TO warehouse_writer;
