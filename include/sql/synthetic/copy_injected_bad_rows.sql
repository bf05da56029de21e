COPY synthetic.injected_bad_rows (business_date, source, record_key, rule) FROM STDIN WITH (FORMAT csv, HEADER match)
