"""The SQL alert rules pipeline (DAG ``ops_sql_alerts``): ``tasks`` (the DAG's tasks), ``rules``
(the rule files and their headers), ``runner`` (one rule: evaluate read-only, merge) and
``night`` (the night's alerts: messages, summary, failed rules)."""
