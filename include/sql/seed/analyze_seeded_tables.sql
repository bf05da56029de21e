-- Statistics for the tables a bulk seed filled, before anything reads them: autovacuum would
-- analyze them only minutes later, and until then the planner sees a new world's tables as
-- nearly empty (the night's first queries planned for a few rows of what are millions).
-- ANALYZE samples a fixed number of rows per table: seconds, whatever the volume.
ANALYZE ops.trades, ops.custodian_confirmations, ops.settlement_outcomes, ops.counterparty_settlement_days,
    synthetic.trade_fail_probability, synthetic.injected_breaks
