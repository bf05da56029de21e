"""Settlement-fail risk model jobs: the code that runs inside the model pods.

Importable without Airflow. Each job is an entry point of ``settlement-model`` (see cli.py)
with a documented argument and environment contract (docs/pod-contract.md).
"""
