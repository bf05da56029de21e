"""The settlement-risk scoring pipeline (DAG ``settlement_risk_scoring``) around the scoring pods:
``tasks`` (the DAG's tasks), ``plan`` (the run's plan and each shard's job arguments), ``swap``
(the date's next partition of ml.trade_scores) and ``manifest`` (the scores in S3). The shards
themselves are model jobs (include/markets_ops/jobs/, model_pod/settlement_model/score.py)."""
