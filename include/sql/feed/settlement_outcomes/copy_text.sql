COPY landed_text (trade_id, business_date, outcome, settled_date, days_late, fail_reason)
FROM STDIN WITH (FORMAT csv, HEADER match)
