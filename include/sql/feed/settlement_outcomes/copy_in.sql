COPY ops.settlement_outcomes (
    trade_id, business_date, outcome, settled_date, days_late, fail_reason
) FROM STDIN WITH (FORMAT binary)
