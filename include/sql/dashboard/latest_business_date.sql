-- The most recent business date any nightly output exists for (the dashboard's default date).
SELECT greatest(
    (SELECT max(business_date) FROM ml.trade_scores),
    (SELECT max(business_date) FROM reporting.recon_breaks),
    (SELECT max(business_date) FROM reporting.alerts)
) AS business_date;
