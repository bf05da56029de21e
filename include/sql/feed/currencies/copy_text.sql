COPY landed_text (currency_code, name, minor_units, usd_rate) FROM STDIN WITH (FORMAT csv, HEADER match)
