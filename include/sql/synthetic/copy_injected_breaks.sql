COPY synthetic.injected_breaks (business_date, trade_ref, break_type) FROM STDIN WITH (FORMAT csv, HEADER match)
