COPY synthetic.trade_fail_probability (trade_id, business_date, p_fail, failed)
FROM STDIN WITH (FORMAT csv, HEADER match)
