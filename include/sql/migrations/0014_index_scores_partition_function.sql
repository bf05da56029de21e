-- The date's new scores table gets its two indexes before the swap's transaction, both at once:
--   ml.index_scores_partition(table, date, index): one index of ml.<table>_pYYYYMMDD_next, the
--     unique index on (business_date, trade_id) ('primary_key') or the index on trade_id
--     ('trade_id'); the swap calls it for both indexes at the same time, each on its own
--     connection (include/markets_ops/scoring/swap.py). Two sorts of a million trade ids took
--     0.82 s one after the other (each with parallel workers) and 0.41-0.45 s side by side
--     without them, on this project's two cores; with a challenger in shadow, four;
--   ml.attach_scores_partition(table, date): as 0009's, but the primary key is made from the
--     unique index when it is there (ADD CONSTRAINT ... PRIMARY KEY USING INDEX: no second
--     sort) and each index is built only when missing, so a caller that built none still gets
--     both.
-- Like 0009's functions, they run as their owner (SECURITY DEFINER: the tables are the owner's,
-- the pipelines connect as warehouse_writer), take one of the two table names (checked) and a
-- date, and derive every identifier themselves (format %I); search_path pinned.

CREATE FUNCTION ml.index_scores_partition(scores_table text, business_date date, index_kind text) RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- Each build is one of two side by side: parallel workers would only compete for the same cores.
SET max_parallel_maintenance_workers = 0
AS $function$
DECLARE
    next_table text := format('%s_p%s_next', scores_table, to_char(business_date, 'YYYYMMDD'));
BEGIN
    IF scores_table IS NULL OR scores_table NOT IN ('trade_scores', 'shadow_scores') THEN
        RAISE EXCEPTION 'index_scores_partition: % is not ml.trade_scores or ml.shadow_scores', scores_table;
    END IF;
    IF business_date IS NULL THEN
        RAISE EXCEPTION 'index_scores_partition: business_date is null';
    END IF;
    IF index_kind IS NULL OR index_kind NOT IN ('primary_key', 'trade_id') THEN
        RAISE EXCEPTION 'index_scores_partition: % is not primary_key or trade_id', index_kind;
    END IF;
    IF to_regclass(format('ml.%I', next_table)) IS NULL THEN
        RAISE EXCEPTION 'index_scores_partition: ml.% does not exist (call prepare_scores_partition first)',
            next_table;
    END IF;
    IF index_kind = 'primary_key' THEN
        EXECUTE format('CREATE UNIQUE INDEX IF NOT EXISTS %I ON ml.%I (business_date, trade_id)',
            next_table || '_pkey', next_table);
        RETURN next_table || '_pkey';
    END IF;
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON ml.%I (trade_id)', next_table || '_trade_id_idx', next_table);
    RETURN next_table || '_trade_id_idx';
END
$function$;

CREATE OR REPLACE FUNCTION ml.attach_scores_partition(scores_table text, business_date date) RETURNS text
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
    -- The indexes, unless ml.index_scores_partition built them, while readers still use the
    -- previous partition (no lock on the parent). The primary key from the unique index.
    EXECUTE format('CREATE UNIQUE INDEX IF NOT EXISTS %I ON ml.%I (business_date, trade_id)',
        next_table || '_pkey', next_table);
    EXECUTE format('ALTER TABLE ml.%I ADD CONSTRAINT %I PRIMARY KEY USING INDEX %I',
        next_table, next_table || '_pkey', next_table || '_pkey');
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON ml.%I (trade_id)', next_table || '_trade_id_idx', next_table);

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

REVOKE ALL ON FUNCTION ml.index_scores_partition(text, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ml.index_scores_partition(text, date, text) TO warehouse_writer;
