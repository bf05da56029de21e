-- Whether the source's latest merged file quarantined nothing (ops.feed_loads, one row per date):
-- only then is the next file tried straight into the target (loader._copy_straight). A row the
-- target refuses fails the whole COPY, so a feed whose files carry bad rows goes through the
-- work table at once instead of paying for a failed attempt every time. A source never loaded
-- counts as clean.
SELECT coalesce(
    (
        SELECT quarantined_rows = 0
        FROM ops.feed_loads
        WHERE source = %(source)s
        ORDER BY loaded_at DESC
        LIMIT 1
    ),
    true
) AS clean
