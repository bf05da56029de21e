-- Statistics for the date's new scores table before it is attached (migration 0011).
SELECT ml.analyze_scores_partition(%(scores_table)s, %(business_date)s) AS table_name
