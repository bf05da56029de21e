-- Scores and their risk bands for the last N scored business dates up to the chosen one,
-- next to the number of trades pending on each date (booked by then, not yet due, not cancelled).
WITH dates AS (
    SELECT DISTINCT business_date
    FROM ml.trade_scores
    WHERE business_date <= %(business_date)s
    ORDER BY business_date DESC
    LIMIT %(days)s
),
scored AS (
    SELECT s.business_date,
           count(*) AS scored,
           count(*) FILTER (WHERE s.risk_band = 'low') AS band_low,
           count(*) FILTER (WHERE s.risk_band = 'medium') AS band_medium,
           count(*) FILTER (WHERE s.risk_band = 'high') AS band_high,
           max(s.model_version) AS model_version
    FROM ml.trade_scores AS s
    JOIN dates USING (business_date)
    GROUP BY s.business_date
)
SELECT d.business_date,
       (SELECT count(*)
        FROM ops.trades AS t
        WHERE t.business_date <= d.business_date
          AND t.settle_date > d.business_date
          AND t.status <> 'cancelled') AS pending,
       scored.scored, scored.band_low, scored.band_medium, scored.band_high, scored.model_version
FROM dates AS d
JOIN scored USING (business_date)
ORDER BY d.business_date;
