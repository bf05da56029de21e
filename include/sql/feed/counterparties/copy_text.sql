COPY landed_text (counterparty_id, legal_name, lei, country_code, sector)
FROM STDIN WITH (FORMAT csv, HEADER match)
