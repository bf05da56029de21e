/*
id: score_drift_psi
severity: medium
owner: mlops
description: >
  The distribution of tonight's fail-risk scores has drifted from the trailing business days':
  the population stability index (PSI) of today's scores against the scores of the previous
  trailing_days business days is above psi_threshold. Bins are the deciles of the reference
  scores; empty bins count as a share of 0.0001. Look for a change in the trade mix or the
  feed, or a new champion, before trusting tonight's risk bands.
parameters:
  psi_threshold:
    type: float
    default: 0.2
    description: PSI above which the scores have drifted (0.1 moderate, 0.25 large)
  trailing_days:
    type: int
    default: 20
    description: business days before the business date that form the reference
  min_scores:
    type: int
    default: 500
    description: fewest scores today and in the reference for the index to mean anything
*/
WITH today AS (
    SELECT s.model_name, s.score
    FROM ml.trade_scores AS s
    WHERE s.business_date = %(business_date)s
),
reference AS (
    SELECT s.model_name, s.score
    FROM ml.trade_scores AS s
    WHERE s.business_date >= (%(recent_business_days)s::date[])[%(trailing_days)s]
      AND s.business_date < %(business_date)s
      AND s.model_name IN (SELECT DISTINCT model_name FROM today)
),
edges AS (
    SELECT
        model_name,
        percentile_disc(ARRAY[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) WITHIN GROUP (ORDER BY score)
            AS inner_edges,
        count(*) AS reference_scores
    FROM reference
    GROUP BY model_name
),
binned AS (
    SELECT 'today' AS side, t.model_name, width_bucket(t.score, e.inner_edges) AS bin
    FROM today AS t JOIN edges AS e USING (model_name)
    UNION ALL
    SELECT 'reference', r.model_name, width_bucket(r.score, e.inner_edges)
    FROM reference AS r JOIN edges AS e USING (model_name)
),
counts AS (
    SELECT model_name, side, bin, count(*) AS scores
    FROM binned
    GROUP BY model_name, side, bin
),
totals AS (
    SELECT model_name, side, sum(scores) AS scores
    FROM counts
    GROUP BY model_name, side
),
shares AS (
    SELECT
        e.model_name,
        bins.bin,
        greatest(coalesce(today_bin.scores, 0)::numeric / today_total.scores, 0.0001) AS today_share,
        greatest(coalesce(reference_bin.scores, 0)::numeric / reference_total.scores, 0.0001)
            AS reference_share,
        today_total.scores AS today_scores
    FROM edges AS e
    CROSS JOIN generate_series(0, 9) AS bins (bin)
    JOIN totals AS today_total
        ON today_total.model_name = e.model_name AND today_total.side = 'today'
    JOIN totals AS reference_total
        ON reference_total.model_name = e.model_name AND reference_total.side = 'reference'
    LEFT JOIN counts AS today_bin
        ON today_bin.model_name = e.model_name AND today_bin.side = 'today' AND today_bin.bin = bins.bin
    LEFT JOIN counts AS reference_bin
        ON reference_bin.model_name = e.model_name
       AND reference_bin.side = 'reference'
       AND reference_bin.bin = bins.bin
),
psi AS (
    SELECT
        model_name,
        sum((today_share - reference_share) * ln(today_share / reference_share)) AS psi,
        max(today_scores) AS today_scores
    FROM shares
    GROUP BY model_name
)
SELECT
    p.model_name AS entity_key,
    jsonb_build_object(
        'psi', round(p.psi, 4),
        'psi_threshold', %(psi_threshold)s,
        'today_scores', p.today_scores,
        'reference_scores', e.reference_scores,
        'reference_from', (%(recent_business_days)s::date[])[%(trailing_days)s],
        'reference_to', %(previous_business_date)s
    ) AS details
FROM psi AS p
JOIN edges AS e USING (model_name)
WHERE p.today_scores >= %(min_scores)s
  AND e.reference_scores >= %(min_scores)s
  AND p.psi > %(psi_threshold)s
