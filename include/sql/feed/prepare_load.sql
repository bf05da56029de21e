-- Set up a load's transaction:
--  * every statement is bounded: a lock wait or a runaway plan fails the task instead of
--    stalling the night;
--  * unqualified names are the load's work tables in the staging schema (landed_rows,
--    landed_text, rejected_rows, ...): created and dropped inside this transaction, so they
--    never outlive it, even when it fails; unlogged, since a work table needs no crash safety;
--  * no JIT: a day's checks and status updates join its rows to the warehouse's tables, so at a
--    bank's volume their plans cost more than JIT's thresholds, and compiling them cost more
--    than it saved (250k outcomes: 0.27 s of the check's 1.16 s; 0.19 s of the 0.28 s that
--    refresh_other_status.sql takes to find nothing on a date's first load); as for the
--    reconciliation and the alert rules;
--  * loads take turns (one transaction-scoped advisory lock), since their work tables share
--    these names.
SELECT
    set_config('statement_timeout', %(statement_timeout)s, true),
    set_config('search_path', 'staging', true),
    set_config('jit', 'off', true),
    pg_advisory_xact_lock(hashtext('markets_ops.feed.load'))
