"""The operations dashboard shown inside the Airflow UI (see plugins/ops_dashboard.py)."""

# Where plugins/ops_dashboard.py mounts the app in the api-server; the tasks' extra links
# (airflow/links.py) and the demo's summary point below it.
URL_PREFIX = "/ops-dashboard"
