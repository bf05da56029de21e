"""The trade reconciliation pipeline (DAG ``trade_reconciliation``): ``tasks`` (the DAG's tasks),
``breaks`` (match, classify and age the breaks of a business date, in raw SQL) and ``report``
(the night's report files and the summary event)."""
