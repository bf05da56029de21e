-- The load's work tables (staging schema: see prepare_load.sql), before the commit.
DROP TABLE IF EXISTS landed_rows, landed_text, rejected_rows, affected_trades, later_events
