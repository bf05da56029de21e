-- One writer per business date at a time (a rerun racing a late run waits, then replaces).
SELECT pg_advisory_xact_lock(hashtextextended('ml.trade_scores:' || %(business_date)s::text, 0))
