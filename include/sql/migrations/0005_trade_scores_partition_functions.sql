-- ml.trade_scores is partitioned by business date (one partition per date, ml.trade_scores_pYYYYMMDD).
-- The scoring swap replaces a date by attaching a freshly built partition, and attaching or
-- dropping a partition needs the owner of ml.trade_scores; the pipelines connect as
-- warehouse_writer, which must not own it. These two functions run as their owner (SECURITY
-- DEFINER) and can do only this: the caller names nothing but the business date, every
-- identifier is derived from it here (format %I), search_path is pinned, objects qualified.
-- Read by migration 0005 (a later change to these functions is a new migration and file).
--
-- The swap, in one transaction (include/markets_ops/scoring/swap.py):
--   1. ml.prepare_trade_scores_partition(date): an empty table ml.trade_scores_pYYYYMMDD_next,
--      shaped like ml.trade_scores, no indexes, with CHECK (business_date = date);
--   2. the writer fills it from the shards' work tables (INSERT ... SELECT);
--   3. ml.attach_trade_scores_partition(date): its indexes, then the date's previous partition
--      (and any rows of the date in the default partition) go, and it is attached in its place.
-- The CHECK constraint lets ATTACH skip the scan that proves every row belongs to the date.

CREATE FUNCTION ml.prepare_trade_scores_partition(business_date date) RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    next_table text := format('trade_scores_p%s_next', to_char(business_date, 'YYYYMMDD'));
BEGIN
    IF business_date IS NULL THEN
        RAISE EXCEPTION 'prepare_trade_scores_partition: business_date is null';
    END IF;
    -- Left over only if a caller prepared without attaching in a committed transaction.
    EXECUTE format('DROP TABLE IF EXISTS ml.%I', next_table);
    -- Owned by the function's owner; the writer may insert through the schema's default privileges.
    EXECUTE format(
        'CREATE TABLE ml.%I (LIKE ml.trade_scores INCLUDING DEFAULTS INCLUDING CONSTRAINTS, '
        'CONSTRAINT %I CHECK (business_date = %L::date))',
        next_table, 'ck_' || next_table || '_business_date', business_date
    );
    RETURN next_table;
END
$function$;

CREATE FUNCTION ml.attach_trade_scores_partition(business_date date) RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    partition_name text := format('trade_scores_p%s', to_char(business_date, 'YYYYMMDD'));
    next_table text := partition_name || '_next';
    previous regclass;
BEGIN
    IF business_date IS NULL THEN
        RAISE EXCEPTION 'attach_trade_scores_partition: business_date is null';
    END IF;
    IF to_regclass(format('ml.%I', next_table)) IS NULL THEN
        RAISE EXCEPTION 'attach_trade_scores_partition: ml.% does not exist (call prepare_trade_scores_partition first)',
            next_table;
    END IF;
    -- The indexes first, while readers still use the previous partition (no lock on the parent).
    EXECUTE format('ALTER TABLE ml.%I ADD CONSTRAINT %I PRIMARY KEY (business_date, trade_id)',
        next_table, next_table || '_pkey');
    EXECUTE format('CREATE INDEX %I ON ml.%I (trade_id)', next_table || '_trade_id_idx', next_table);

    -- From here to the commit, readers of ml.trade_scores wait (dropping a partition locks the
    -- parent): only catalog changes follow, and the date's rows in the default partition.
    previous := to_regclass(format('ml.%I', partition_name));
    IF previous IS NOT NULL THEN
        IF NOT EXISTS (
            SELECT FROM pg_catalog.pg_inherits
            WHERE inhrelid = previous AND inhparent = 'ml.trade_scores'::regclass
        ) THEN
            RAISE EXCEPTION 'attach_trade_scores_partition: ml.% exists but is not a partition of ml.trade_scores',
                partition_name;
        END IF;
        EXECUTE format('DROP TABLE ml.%I', partition_name);
    END IF;
    -- Rows written straight into ml.trade_scores before the date had a partition: replaced too.
    DELETE FROM ml.trade_scores_default AS d WHERE d.business_date = attach_trade_scores_partition.business_date;

    EXECUTE format('ALTER TABLE ml.%I RENAME TO %I', next_table, partition_name);
    EXECUTE format('ALTER INDEX ml.%I RENAME TO %I', next_table || '_pkey', partition_name || '_pkey');
    EXECUTE format('ALTER INDEX ml.%I RENAME TO %I',
        next_table || '_trade_id_idx', partition_name || '_trade_id_idx');
    EXECUTE format('ALTER TABLE ml.trade_scores ATTACH PARTITION ml.%I FOR VALUES IN (%L)',
        partition_name, business_date);
    -- The partition bound now says the same: the table looks like any other partition.
    EXECUTE format('ALTER TABLE ml.%I DROP CONSTRAINT %I',
        partition_name, 'ck_' || next_table || '_business_date');
    RETURN partition_name;
END
$function$;

REVOKE ALL ON FUNCTION ml.prepare_trade_scores_partition(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION ml.attach_trade_scores_partition(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ml.prepare_trade_scores_partition(date) TO warehouse_writer;
GRANT EXECUTE ON FUNCTION ml.attach_trade_scores_partition(date) TO warehouse_writer;
