-- One shard's scores into the date's new partition (inside the swap transaction).
INSERT INTO {partition_table}
    (business_date, trade_id, model_name, model_version, score, risk_band, scoring_run_id, scored_at)
SELECT business_date, trade_id, model_name, model_version, score, risk_band, scoring_run_id, scored_at
FROM {staging_table}
WHERE business_date = %(business_date)s
