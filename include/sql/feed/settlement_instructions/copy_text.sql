COPY landed_text (
    ssi_id, counterparty_id, settlement_location, currency, custodian_bic, safekeeping_account,
    valid_from, valid_to
) FROM STDIN WITH (FORMAT csv, HEADER match)
