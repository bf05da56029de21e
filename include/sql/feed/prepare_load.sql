-- Set up a load's transaction:
--  * every statement is bounded: a lock wait or a runaway plan fails the task instead of
--    stalling the night;
--  * unqualified names are the load's work tables in the staging schema (landed_rows,
--    landed_text, rejected_rows, ...): created and dropped inside this transaction, so they
--    never outlive it, even when it fails; unlogged, since a work table needs no crash safety;
--  * loads take turns (one transaction-scoped advisory lock), since their work tables share
--    these names.
SELECT
    set_config('statement_timeout', %(statement_timeout)s, true),
    set_config('search_path', 'staging', true),
    pg_advisory_xact_lock(hashtext('markets_ops.feed.load'))
