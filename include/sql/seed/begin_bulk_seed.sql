-- A bulk seed's transaction: bounded statements, a bounded wait for locks (a reader holding
-- ops.trades makes the seed fail at once, not stall), and the feed's advisory lock, so no
-- feed load interleaves with the seeded days.
SELECT
    set_config('statement_timeout', '30min', true),
    set_config('lock_timeout', '30s', true),
    pg_advisory_xact_lock(hashtext('markets_ops.feed.load'))
