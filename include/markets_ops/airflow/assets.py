"""The Airflow Assets the DAGs produce and are scheduled on, declared once.

URIs name the logical warehouse (``warehouse-db``), not a local port, so they are the same in
every environment. Every asset event carries ``{"business_date": "YYYY-MM-DD"}`` in its extra:
that is how a DAG scheduled on an asset knows which business date to process.
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetAlias
from settlement_model import lineage_names

# The names lineage uses too (settlement_model.lineage_names): an asset is its table's dataset.
WAREHOUSE = f"postgres://{lineage_names.WAREHOUSE_HOST}/{lineage_names.WAREHOUSE_DATABASE}"


def _table(schema: str, table: str) -> Asset:
    return Asset(name=f"{schema}.{table}", uri=f"{WAREHOUSE}/{schema}/{table}", group="warehouse")


TRADES = _table("ops", "trades")
CUSTODIAN_CONFIRMATIONS = _table("ops", "custodian_confirmations")
SETTLEMENT_OUTCOMES = _table("ops", "settlement_outcomes")
# Emitted by custodian_statements when every custodian's statement of a date is in (or one
# came late): the date's full reconciliation starts from it.
STATEMENT_DELIVERIES = _table("ops", "statement_deliveries")
TRADE_SCORES = _table("ml", "trade_scores")
RECON_BREAKS = _table("reporting", "recon_breaks")
ALERTS = _table("reporting", "alerts")
CHAMPION_MODEL = Asset(
    name="settlement_fail_risk@champion", uri="mlflow://models/settlement_fail_risk/champion"
)
# The training DAG emits CHAMPION_MODEL events through this alias, only when the champion
# actually changes (a rejected challenger must not wake up consumers of the champion).
CHAMPION_CHANGES = AssetAlias("settlement_fail_risk_champion_changes")
