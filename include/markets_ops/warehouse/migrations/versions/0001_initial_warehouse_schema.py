"""Initial warehouse schema: ops, ml, reporting, staging and synthetic.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

SCHEMAS = ("ops", "ml", "reporting", "staging", "synthetic")

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every table is created here, empty: its indexes are plain CREATE INDEX, inside this
    # revision's transaction (CONCURRENTLY is for tables that already hold rows: 0004, 0006).
    for schema in SCHEMAS:
        op.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
    op.create_table(
        "model_promotions",
        sa.Column("promotion_id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("model_name", sa.String(length=64), nullable=False),
        sa.Column("candidate_version", sa.String(length=16), nullable=False),
        sa.Column("previous_champion_version", sa.String(length=16), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reasons", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("metrics", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("thresholds", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column(
            "evaluation_window", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("dag_run_id", sa.String(length=250), nullable=False),
        sa.Column("triggered_by", sa.String(length=250), nullable=False),
        sa.Column("is_backfill", sa.Boolean(), server_default="false", nullable=False),
        sa.CheckConstraint(
            "decision IN ('promoted', 'bootstrapped', 'rejected', 'rolled_back', 'evaluated_only')",
            name=op.f("ck_model_promotions_decision"),
        ),
        sa.PrimaryKeyConstraint("promotion_id", name=op.f("pk_model_promotions")),
        schema="ml",
        comment="Audit trail of every promotion-gate decision and rollback",
    )
    op.create_index(
        op.f("ix_model_promotions_model_name_decided_at"),
        "model_promotions",
        ["model_name", "decided_at"],
        unique=False,
        schema="ml",
    )
    op.create_table(
        "trade_scores",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("trade_id", sa.String(length=24), nullable=False),
        sa.Column("model_name", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("risk_band", sa.String(length=8), nullable=False),
        sa.Column("scoring_run_id", sa.String(length=250), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("risk_band IN ('low', 'medium', 'high')", name=op.f("ck_trade_scores_risk_band")),
        sa.CheckConstraint("score >= 0 AND score <= 1", name=op.f("ck_trade_scores_score_is_probability")),
        sa.PrimaryKeyConstraint("business_date", "trade_id", name=op.f("pk_trade_scores")),
        schema="ml",
        comment="Nightly settlement-fail risk scores of pending trades",
    )
    op.create_index(op.f("ix_trade_scores_trade_id"), "trade_scores", ["trade_id"], unique=False, schema="ml")
    op.create_table(
        "counterparties",
        sa.Column("counterparty_id", sa.String(length=16), nullable=False),
        sa.Column("legal_name", sa.String(length=128), nullable=False),
        sa.Column("lei", sa.String(length=20), nullable=False, comment="Legal Entity Identifier"),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column(
            "sector", sa.String(length=32), nullable=False, comment="bank, broker_dealer, asset_manager, ..."
        ),
        sa.CheckConstraint("length(lei) = 20", name=op.f("ck_counterparties_lei_length")),
        sa.PrimaryKeyConstraint("counterparty_id", name=op.f("pk_counterparties")),
        sa.UniqueConstraint("lei", name=op.f("uq_counterparties_lei")),
        schema="ops",
        comment="Legal entities the bank trades with",
    )
    op.create_table(
        "currencies",
        sa.Column("currency_code", sa.String(length=3), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("minor_units", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("currency_code", name=op.f("pk_currencies")),
        schema="ops",
        comment="ISO 4217 currencies the bank settles in",
    )
    op.create_table(
        "custodian_confirmations",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("trade_ref", sa.String(length=24), nullable=False),
        sa.Column("custodian", sa.String(length=24), nullable=False),
        sa.Column("instrument_id", sa.String(length=12), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("price", sa.Numeric(precision=20, scale=8), nullable=False),
        sa.Column("settle_date", sa.Date(), nullable=False),
        sa.Column("counterparty_id", sa.String(length=16), nullable=False),
        sa.Column("settlement_location", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("business_date", "trade_ref", name=op.f("pk_custodian_confirmations")),
        schema="ops",
        comment="The custodians' daily statement of the bank's open trades: the external side of reconciliation. trade_ref is the bank's trade_id as the custodian knows it.",
    )
    op.create_index(
        op.f("ix_custodian_confirmations_trade_ref"),
        "custodian_confirmations",
        ["trade_ref"],
        unique=False,
        schema="ops",
    )
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("entity_key", sa.String(length=128), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column(
            "first_raised_date",
            sa.Date(),
            nullable=False,
            comment="first business date this condition was raised; earlier than business_date if still open",
        ),
        sa.Column(
            "is_new", sa.Boolean(), nullable=False, comment="raised for the first time on this business date"
        ),
        sa.Column("raised_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_alerts")),
        schema="reporting",
        comment="Alerts raised by the SQL rules, one per rule, date and entity",
    )
    op.create_index(
        op.f("ix_alerts_business_date"), "alerts", ["business_date"], unique=False, schema="reporting"
    )
    op.create_index(
        op.f("ix_alerts_rule_id_business_date_entity_key"),
        "alerts",
        ["rule_id", "business_date", "entity_key"],
        unique=True,
        schema="reporting",
    )
    op.create_table(
        "quarantine",
        sa.Column("quarantine_id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column(
            "source", sa.String(length=32), nullable=False, comment="trades, custodian_confirmations, ..."
        ),
        sa.Column("rule", sa.String(length=64), nullable=False, comment="the validation rule the row broke"),
        sa.Column("record_key", sa.String(length=64), nullable=True),
        sa.Column("raw_record", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("dag_run_id", sa.String(length=250), nullable=True),
        sa.Column(
            "quarantined_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("quarantine_id", name=op.f("pk_quarantine")),
        schema="reporting",
        comment="Input rows rejected by a validation rule, kept whole",
    )
    op.create_index(
        op.f("ix_quarantine_business_date_source"),
        "quarantine",
        ["business_date", "source"],
        unique=False,
        schema="reporting",
    )
    op.create_table(
        "recon_breaks",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("trade_ref", sa.String(length=24), nullable=False),
        sa.Column("break_type", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("first_seen_date", sa.Date(), nullable=False),
        sa.Column(
            "age_business_days", sa.SmallInteger(), nullable=False, comment="0 on the day it first appears"
        ),
        sa.Column("resolved_date", sa.Date(), nullable=True),
        sa.Column("counterparty_id", sa.String(length=16), nullable=True),
        sa.Column("instrument_id", sa.String(length=12), nullable=True),
        sa.Column(
            "internal_value", sa.Text(), nullable=True, comment="the bank's value of the field in break"
        ),
        sa.Column("custodian_value", sa.Text(), nullable=True, comment="the custodian's value"),
        sa.Column("notional", sa.Numeric(precision=22, scale=2), nullable=True),
        sa.CheckConstraint(
            "break_type IN ('missing_at_custodian', 'missing_internal', 'quantity_mismatch', 'price_mismatch', 'settle_date_mismatch', 'counterparty_mismatch')",
            name=op.f("ck_recon_breaks_break_type"),
        ),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f("ck_recon_breaks_status")),
        sa.PrimaryKeyConstraint("business_date", "trade_ref", "break_type", name=op.f("pk_recon_breaks")),
        schema="reporting",
        comment="Reconciliation breaks between ops.trades and the custodian statement, per business date: open breaks with their age, and breaks resolved on that date",
    )
    op.create_index(
        op.f("ix_recon_breaks_business_date_status"),
        "recon_breaks",
        ["business_date", "status"],
        unique=False,
        schema="reporting",
    )
    op.create_index(
        op.f("ix_recon_breaks_trade_ref"), "recon_breaks", ["trade_ref"], unique=False, schema="reporting"
    )
    op.create_table(
        "counterparty_profiles",
        sa.Column("counterparty_id", sa.String(length=16), nullable=False),
        sa.Column("fail_propensity", sa.Double(), nullable=False, comment="additive log-odds of failing"),
        sa.PrimaryKeyConstraint("counterparty_id", name=op.f("pk_counterparty_profiles")),
        schema="synthetic",
        comment="Hidden fail propensity of each counterparty",
    )
    op.create_table(
        "injected_bad_rows",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("record_key", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("business_date", "source", "record_key", name=op.f("pk_injected_bad_rows")),
        schema="synthetic",
        comment="Malformed rows injected into the feeds, by rule",
    )
    op.create_table(
        "injected_breaks",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("trade_ref", sa.String(length=24), nullable=False),
        sa.Column("break_type", sa.String(length=24), nullable=False),
        sa.PrimaryKeyConstraint("business_date", "trade_ref", "break_type", name=op.f("pk_injected_breaks")),
        schema="synthetic",
        comment="Breaks injected into the custodian statement, per day",
    )
    op.create_table(
        "trade_fail_probability",
        sa.Column("trade_id", sa.String(length=24), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("p_fail", sa.Double(), nullable=False),
        sa.Column("failed", sa.Boolean(), nullable=False, comment="the drawn outcome"),
        sa.PrimaryKeyConstraint("trade_id", name=op.f("pk_trade_fail_probability")),
        schema="synthetic",
        comment="True probability that each trade fails to settle on time",
    )
    op.create_index(
        op.f("ix_trade_fail_probability_business_date"),
        "trade_fail_probability",
        ["business_date"],
        unique=False,
        schema="synthetic",
    )
    op.create_table(
        "instruments",
        sa.Column("instrument_id", sa.String(length=12), nullable=False, comment="ISIN-like id"),
        sa.Column("description", sa.String(length=128), nullable=False),
        sa.Column("asset_class", sa.String(length=24), nullable=False),
        sa.Column(
            "market", sa.String(length=8), nullable=False, comment="market code (MIC) whose calendar applies"
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "settlement_location", sa.String(length=16), nullable=False, comment="DTC, FED, Euroclear, ..."
        ),
        sa.Column(
            "settlement_cycle_days", sa.SmallInteger(), nullable=False, comment="T+n, in market business days"
        ),
        sa.Column("liquidity_tier", sa.SmallInteger(), nullable=False, comment="1 = most liquid, 3 = least"),
        sa.CheckConstraint(
            "asset_class IN ('equity', 'government_bond', 'corporate_bond', 'fx')",
            name=op.f("ck_instruments_asset_class"),
        ),
        sa.CheckConstraint("liquidity_tier BETWEEN 1 AND 3", name=op.f("ck_instruments_liquidity_tier")),
        sa.CheckConstraint(
            "settlement_cycle_days BETWEEN 0 AND 5", name=op.f("ck_instruments_settlement_cycle")
        ),
        sa.ForeignKeyConstraint(
            ["currency"], ["ops.currencies.currency_code"], name=op.f("fk_instruments_currency_currencies")
        ),
        sa.PrimaryKeyConstraint("instrument_id", name=op.f("pk_instruments")),
        schema="ops",
        comment="Securities and FX pairs; instrument_id is an ISIN-like code",
    )
    op.create_table(
        "settlement_instructions",
        sa.Column("ssi_id", sa.String(length=24), nullable=False),
        sa.Column("counterparty_id", sa.String(length=16), nullable=False),
        sa.Column("settlement_location", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("custodian_bic", sa.String(length=11), nullable=False),
        sa.Column("safekeeping_account", sa.String(length=34), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["counterparty_id"],
            ["ops.counterparties.counterparty_id"],
            name=op.f("fk_settlement_instructions_counterparty_id_counterparties"),
        ),
        sa.ForeignKeyConstraint(
            ["currency"],
            ["ops.currencies.currency_code"],
            name=op.f("fk_settlement_instructions_currency_currencies"),
        ),
        sa.PrimaryKeyConstraint("ssi_id", name=op.f("pk_settlement_instructions")),
        schema="ops",
        comment="Standing settlement instructions (SSIs) per counterparty and market",
    )
    op.create_index(
        op.f("ix_settlement_instructions_counterparty_id_settlement_location_currency_valid_from"),
        "settlement_instructions",
        ["counterparty_id", "settlement_location", "currency", "valid_from"],
        unique=True,
        schema="ops",
    )
    op.create_table(
        "trades",
        sa.Column("trade_id", sa.String(length=24), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False, comment="feed date the trade was booked in"),
        sa.Column("trade_date", sa.Date(), nullable=False, comment="execution date (earlier if booked late)"),
        sa.Column("settle_date", sa.Date(), nullable=False, comment="contractual settlement date"),
        sa.Column("desk", sa.String(length=32), nullable=False),
        sa.Column("book", sa.String(length=32), nullable=False),
        sa.Column("instrument_id", sa.String(length=12), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("price", sa.Numeric(precision=20, scale=8), nullable=False),
        sa.Column(
            "notional",
            sa.Numeric(precision=22, scale=2),
            nullable=False,
            comment="quantity x price, trade currency",
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("counterparty_id", sa.String(length=16), nullable=False),
        sa.Column("settlement_location", sa.String(length=16), nullable=False),
        sa.Column(
            "ssi_status",
            sa.String(length=12),
            nullable=False,
            comment="SSI enrichment: matched/mismatched/missing",
        ),
        sa.Column("booked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "confirmed_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="counterparty confirmation; null if not confirmed by end of day",
        ),
        sa.Column(
            "allocated_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="block allocation; null if not allocated by end of day",
        ),
        sa.Column(
            "status",
            sa.String(length=12),
            nullable=False,
            comment="latest known: pending/settled/failed/cancelled",
        ),
        sa.CheckConstraint("side IN ('BUY', 'SELL')", name=op.f("ck_trades_side")),
        sa.CheckConstraint(
            "ssi_status IN ('matched', 'mismatched', 'missing')", name=op.f("ck_trades_ssi_status")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'settled', 'failed', 'cancelled')", name=op.f("ck_trades_status")
        ),
        sa.CheckConstraint("price > 0", name=op.f("ck_trades_price_positive")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_trades_quantity_positive")),
        sa.CheckConstraint("settle_date >= trade_date", name=op.f("ck_trades_settles_after_trade")),
        sa.CheckConstraint("trade_date <= business_date", name=op.f("ck_trades_booked_on_or_after_trade")),
        sa.ForeignKeyConstraint(
            ["counterparty_id"],
            ["ops.counterparties.counterparty_id"],
            name=op.f("fk_trades_counterparty_id_counterparties"),
        ),
        sa.ForeignKeyConstraint(
            ["currency"], ["ops.currencies.currency_code"], name=op.f("fk_trades_currency_currencies")
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["ops.instruments.instrument_id"],
            name=op.f("fk_trades_instrument_id_instruments"),
        ),
        sa.PrimaryKeyConstraint("trade_id", name=op.f("pk_trades")),
        schema="ops",
        comment="One row per trade booked by the bank",
    )
    op.create_index(op.f("ix_trades_business_date"), "trades", ["business_date"], unique=False, schema="ops")
    op.create_index(
        op.f("ix_trades_counterparty_id_trade_date"),
        "trades",
        ["counterparty_id", "trade_date"],
        unique=False,
        schema="ops",
    )
    op.create_index(op.f("ix_trades_settle_date"), "trades", ["settle_date"], unique=False, schema="ops")
    op.create_table(
        "settlement_outcomes",
        sa.Column("trade_id", sa.String(length=24), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False, comment="date the event was reported"),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("settled_date", sa.Date(), nullable=True),
        sa.Column("days_late", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("fail_reason", sa.String(length=32), nullable=True),
        sa.CheckConstraint(
            "(outcome = 'failed') = (fail_reason IS NOT NULL)",
            name=op.f("ck_settlement_outcomes_fail_reason_iff_failed"),
        ),
        sa.CheckConstraint("outcome IN ('settled', 'failed')", name=op.f("ck_settlement_outcomes_outcome")),
        sa.ForeignKeyConstraint(
            ["trade_id"], ["ops.trades.trade_id"], name=op.f("fk_settlement_outcomes_trade_id_trades")
        ),
        sa.PrimaryKeyConstraint("trade_id", "business_date", name=op.f("pk_settlement_outcomes")),
        schema="ops",
        comment="Settlement events per trade: 'settled' (on time, or late with days_late > 0) or 'failed' on the settle date with its reason. A failed trade later gets a 'settled' row.",
    )
    op.create_index(
        op.f("ix_settlement_outcomes_business_date"),
        "settlement_outcomes",
        ["business_date"],
        unique=False,
        schema="ops",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_settlement_outcomes_business_date"), table_name="settlement_outcomes", schema="ops"
    )
    op.drop_table("settlement_outcomes", schema="ops")
    op.drop_index(op.f("ix_trades_settle_date"), table_name="trades", schema="ops")
    op.drop_index(op.f("ix_trades_counterparty_id_trade_date"), table_name="trades", schema="ops")
    op.drop_index(op.f("ix_trades_business_date"), table_name="trades", schema="ops")
    op.drop_table("trades", schema="ops")
    op.drop_index(
        op.f("ix_settlement_instructions_counterparty_id_settlement_location_currency_valid_from"),
        table_name="settlement_instructions",
        schema="ops",
    )
    op.drop_table("settlement_instructions", schema="ops")
    op.drop_table("instruments", schema="ops")
    op.drop_index(
        op.f("ix_trade_fail_probability_business_date"),
        table_name="trade_fail_probability",
        schema="synthetic",
    )
    op.drop_table("trade_fail_probability", schema="synthetic")
    op.drop_table("injected_breaks", schema="synthetic")
    op.drop_table("injected_bad_rows", schema="synthetic")
    op.drop_table("counterparty_profiles", schema="synthetic")
    op.drop_index(op.f("ix_recon_breaks_trade_ref"), table_name="recon_breaks", schema="reporting")
    op.drop_index(op.f("ix_recon_breaks_business_date_status"), table_name="recon_breaks", schema="reporting")
    op.drop_table("recon_breaks", schema="reporting")
    op.drop_index(op.f("ix_quarantine_business_date_source"), table_name="quarantine", schema="reporting")
    op.drop_table("quarantine", schema="reporting")
    op.drop_index(op.f("ix_alerts_rule_id_business_date_entity_key"), table_name="alerts", schema="reporting")
    op.drop_index(op.f("ix_alerts_business_date"), table_name="alerts", schema="reporting")
    op.drop_table("alerts", schema="reporting")
    op.drop_index(
        op.f("ix_custodian_confirmations_trade_ref"), table_name="custodian_confirmations", schema="ops"
    )
    op.drop_table("custodian_confirmations", schema="ops")
    op.drop_table("currencies", schema="ops")
    op.drop_table("counterparties", schema="ops")
    op.drop_index(op.f("ix_trade_scores_trade_id"), table_name="trade_scores", schema="ml")
    op.drop_table("trade_scores", schema="ml")
    op.drop_index(
        op.f("ix_model_promotions_model_name_decided_at"), table_name="model_promotions", schema="ml"
    )
    op.drop_table("model_promotions", schema="ml")
    for schema in reversed(SCHEMAS):
        op.execute(sa.schema.DropSchema(schema, cascade=schema == "staging", if_exists=True))
