"""The settlement-risk training pipeline (DAG ``settlement_risk_training``) around the training
pods: ``tasks`` (the DAG's tasks), ``plan`` (the trigger form's parameters, the jobs' arguments,
what a training date produced), ``promotion`` (the gate and the rollback) and ``model_quality``
(the model against the synthetic ground truth). The jobs themselves are model jobs
(include/markets_ops/jobs/, model_pod/settlement_model/)."""
