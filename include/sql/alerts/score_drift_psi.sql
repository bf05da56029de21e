/*
id: score_drift_psi
severity: medium
owner: mlops
description: >
  The distribution of tonight's fail-risk scores has drifted from the trailing business days':
  the population stability index (PSI) of today's scores against the scores of the previous
  trailing_days business days is above psi_threshold. Bins are the deciles of today's scores
  (the index is symmetric in its two distributions, and sorting one day is twenty times cheaper
  than sorting the reference); an empty bin counts as a share of 0.0001. Look for a change in the trade mix or the
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
edges AS (
    SELECT
        model_name,
        percentile_disc(ARRAY[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) WITHIN GROUP (ORDER BY score)
            AS inner_edges,
        count(*) AS today_scores
    FROM today
    GROUP BY model_name
),
today_bins AS (
    SELECT t.model_name, width_bucket(t.score, e.inner_edges) AS bin, count(*) AS scores
    FROM today AS t
    JOIN edges AS e USING (model_name)
    GROUP BY t.model_name, bin
),
-- One pass over the reference window (the primary key's business_date range), no sort.
reference_bins AS (
    SELECT s.model_name, width_bucket(s.score, e.inner_edges) AS bin, count(*) AS scores
    FROM ml.trade_scores AS s
    JOIN edges AS e USING (model_name)
    WHERE s.business_date >= (%(recent_business_days)s::date[])[%(trailing_days)s]
      AND s.business_date < %(business_date)s
    GROUP BY s.model_name, bin
),
reference_totals AS (
    SELECT model_name, sum(scores) AS reference_scores
    FROM reference_bins
    GROUP BY model_name
),
shares AS (
    SELECT
        e.model_name,
        greatest(coalesce(today_bin.scores, 0)::numeric / e.today_scores, 0.0001) AS today_share,
        greatest(coalesce(reference_bin.scores, 0)::numeric / r.reference_scores, 0.0001) AS reference_share
    FROM edges AS e
    JOIN reference_totals AS r USING (model_name)
    CROSS JOIN generate_series(0, 9) AS bins (bin)
    LEFT JOIN today_bins AS today_bin
        ON today_bin.model_name = e.model_name AND today_bin.bin = bins.bin
    LEFT JOIN reference_bins AS reference_bin
        ON reference_bin.model_name = e.model_name AND reference_bin.bin = bins.bin
),
psi AS (
    SELECT model_name, sum((today_share - reference_share) * ln(today_share / reference_share)) AS psi
    FROM shares
    GROUP BY model_name
)
SELECT
    p.model_name AS entity_key,
    jsonb_build_object(
        'psi', round(p.psi, 4),
        'psi_threshold', %(psi_threshold)s,
        'today_scores', e.today_scores,
        'reference_scores', r.reference_scores,
        'reference_from', (%(recent_business_days)s::date[])[%(trailing_days)s],
        'reference_to', %(previous_business_date)s
    ) AS details
FROM psi AS p
JOIN edges AS e USING (model_name)
JOIN reference_totals AS r USING (model_name)
WHERE e.today_scores >= %(min_scores)s
  AND r.reference_scores >= %(min_scores)s
  AND p.psi > %(psi_threshold)s
