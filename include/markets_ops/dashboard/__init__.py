"""The operations dashboard shown inside the Airflow UI (see plugins/ops_dashboard.py)."""
