-- ml.analyze_scores_partition(table, date): statistics for the date's new scores table
-- (ml.<table>_pYYYYMMDD_next, filled by the shards), taken by the swap before it attaches it.
-- Without them the planner took the fresh partition's rows for a default 0.5% of its size (75 of
-- 15,000) and joined ml.shadow_scores to ml.trade_scores in a nested loop: the shadow comparison
-- read one date in 35-48 s instead of 0.2 s; autovacuum analyzes the table only minutes later.
-- ANALYZE needs the table's owner, so like 0009's functions it runs as its owner (SECURITY
-- DEFINER), takes only one of the two table names and a date, and derives the identifier itself.

CREATE FUNCTION ml.analyze_scores_partition(scores_table text, business_date date) RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    next_table text := format('%s_p%s_next', scores_table, to_char(business_date, 'YYYYMMDD'));
BEGIN
    IF scores_table IS NULL OR scores_table NOT IN ('trade_scores', 'shadow_scores') THEN
        RAISE EXCEPTION 'analyze_scores_partition: % is not ml.trade_scores or ml.shadow_scores', scores_table;
    END IF;
    IF business_date IS NULL THEN
        RAISE EXCEPTION 'analyze_scores_partition: business_date is null';
    END IF;
    EXECUTE format('ANALYZE ml.%I', next_table);
    RETURN next_table;
END
$function$;

REVOKE ALL ON FUNCTION ml.analyze_scores_partition(text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ml.analyze_scores_partition(text, date) TO warehouse_writer;
