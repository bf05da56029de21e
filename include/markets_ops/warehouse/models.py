"""The warehouse schema: SQLAlchemy 2.0 declarative models, the source of truth for Alembic.

Schemas:
  ops        what the bank's systems book and receive: reference data, trades, custodian
             confirmations, settlement outcomes.
  ml         model outputs and the audit trail of model promotions.
  reporting  alerts, reconciliation breaks, quarantined input rows.
  staging    work tables of the bulk loads (COPY targets), swapped into place atomically.
  synthetic  the generator's ground truth. No DAG or model reads it (the pipeline roles
             have no privilege on it); tests and the data generator do.
  events     the outbox of the operations events (failures, missed deadlines) on their way to
             Kafka (airflow/outbox.py).

Column comments say what a value means for operations staff, because they read these
tables through the reporting role.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SCHEMAS = ("ops", "ml", "reporting", "staging", "synthetic", "events")

ASSET_CLASSES = ("equity", "government_bond", "corporate_bond", "fx")
TRADE_STATUSES = ("pending", "settled", "failed", "cancelled")
SSI_STATUSES = ("matched", "mismatched", "missing")
SIDES = ("BUY", "SELL")
OUTCOMES = ("settled", "failed")
RISK_BANDS = ("low", "medium", "high")
BREAK_TYPES = (
    "missing_at_custodian",
    "missing_internal",
    "quantity_mismatch",
    "price_mismatch",
    "settle_date_mismatch",
    "counterparty_mismatch",
)
BREAK_STATUSES = ("open", "resolved")
RULE_RUN_STATUSES = ("succeeded", "failed")
DELIVERED_BY = ("callback", "relay")
PROMOTION_DECISIONS = (
    "promoted",
    "bootstrapped",
    "rejected",
    "rolled_back",
    "evaluated_only",
    "rollback_refused",
)
PROMOTION_REVIEWS = ("approved", "rejected", "timed_out", "not_required", "emergency")


# Partitions of ml.trade_scores and ml.shadow_scores are data (one per scored business date), not schema: the
# scoring swap creates and drops them, so Alembic's comparison leaves them out.
SCORES_PARTITION = re.compile(r"(trade|shadow)_scores_(p\d{8}|default)")


def managed_by_migrations(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's ``include_name``: the project's schemas, without ml.trade_scores' partitions."""
    if type_ == "schema":
        return name in SCHEMAS
    if type_ == "table" and name is not None and parent_names.get("schema_name") == "ml":
        return not SCORES_PARTITION.fullmatch(name)
    return True


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSONB}


# --------------------------------------------------------------------------- ops: reference


class Currency(Base):
    __tablename__ = "currencies"
    __table_args__ = {"schema": "ops", "comment": "ISO 4217 currencies the bank settles in"}

    currency_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    minor_units: Mapped[int] = mapped_column(SmallInteger)
    usd_rate: Mapped[Decimal | None] = mapped_column(
        Numeric(18, 8), comment="indicative USD value of one unit: sizes notionals across currencies"
    )


class Counterparty(Base):
    __tablename__ = "counterparties"
    __table_args__ = (
        CheckConstraint("length(lei) = 20", name="lei_length"),
        {"schema": "ops", "comment": "Legal entities the bank trades with"},
    )

    counterparty_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(128))
    lei: Mapped[str] = mapped_column(String(20), unique=True, comment="Legal Entity Identifier")
    country_code: Mapped[str] = mapped_column(String(2))
    sector: Mapped[str] = mapped_column(String(32), comment="bank, broker_dealer, asset_manager, ...")


class Instrument(Base):
    __tablename__ = "instruments"
    __table_args__ = (
        CheckConstraint(_in("asset_class", ASSET_CLASSES), name="asset_class"),
        CheckConstraint("liquidity_tier BETWEEN 1 AND 3", name="liquidity_tier"),
        CheckConstraint("settlement_cycle_days BETWEEN 0 AND 5", name="settlement_cycle"),
        {"schema": "ops", "comment": "Securities and FX pairs; instrument_id is an ISIN-like code"},
    )

    instrument_id: Mapped[str] = mapped_column(String(12), primary_key=True, comment="ISIN-like id")
    description: Mapped[str] = mapped_column(String(128))
    asset_class: Mapped[str] = mapped_column(String(24))
    market: Mapped[str] = mapped_column(String(8), comment="market code (MIC) whose calendar applies")
    currency: Mapped[str] = mapped_column(ForeignKey("ops.currencies.currency_code"))
    settlement_location: Mapped[str] = mapped_column(String(16), comment="DTC, FED, Euroclear, ...")
    settlement_cycle_days: Mapped[int] = mapped_column(SmallInteger, comment="T+n, in market business days")
    liquidity_tier: Mapped[int] = mapped_column(SmallInteger, comment="1 = most liquid, 3 = least")


class SettlementInstruction(Base):
    __tablename__ = "settlement_instructions"
    __table_args__ = (
        Index(None, "counterparty_id", "settlement_location", "currency", "valid_from", unique=True),
        {"schema": "ops", "comment": "Standing settlement instructions (SSIs) per counterparty and market"},
    )

    ssi_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    counterparty_id: Mapped[str] = mapped_column(ForeignKey("ops.counterparties.counterparty_id"))
    settlement_location: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(ForeignKey("ops.currencies.currency_code"))
    custodian_bic: Mapped[str] = mapped_column(String(11))
    safekeeping_account: Mapped[str] = mapped_column(String(34))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)


# --------------------------------------------------------------------------- ops: daily feeds


class Trade(Base):
    __tablename__ = "trades"
    __table_args__ = (
        CheckConstraint(_in("side", SIDES), name="side"),
        CheckConstraint(_in("status", TRADE_STATUSES), name="status"),
        CheckConstraint(_in("ssi_status", SSI_STATUSES), name="ssi_status"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("settle_date >= trade_date", name="settles_after_trade"),
        CheckConstraint("trade_date <= business_date", name="booked_on_or_after_trade"),
        # By business date, each date's trades in id (byte) order: the order the scoring job
        # streams them in, read from the index instead of sorted (migration 0006).
        Index("ix_trades_business_date_trade_id", "business_date", text('trade_id COLLATE "C"')),
        Index(None, "settle_date"),
        Index(None, "counterparty_id", "trade_date"),
        {
            "schema": "ops",
            "comment": "One row per trade booked by the bank",
            # Each trade's status is rewritten once or twice after it is loaded (settled, or
            # failed then settled): free space in its page lets those be HOT updates, which
            # skip the writes to the table's four indexes.
            "postgresql_with": {"fillfactor": 70},
        },
    )

    trade_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    business_date: Mapped[dt.date] = mapped_column(Date, comment="feed date the trade was booked in")
    trade_date: Mapped[dt.date] = mapped_column(Date, comment="execution date (earlier if booked late)")
    settle_date: Mapped[dt.date] = mapped_column(Date, comment="contractual settlement date")
    desk: Mapped[str] = mapped_column(String(32))
    book: Mapped[str] = mapped_column(String(32))
    instrument_id: Mapped[str] = mapped_column(ForeignKey("ops.instruments.instrument_id"))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    price: Mapped[Decimal] = mapped_column(Numeric(20, 8))
    notional: Mapped[Decimal] = mapped_column(Numeric(22, 2), comment="quantity x price, trade currency")
    currency: Mapped[str] = mapped_column(ForeignKey("ops.currencies.currency_code"))
    counterparty_id: Mapped[str] = mapped_column(ForeignKey("ops.counterparties.counterparty_id"))
    settlement_location: Mapped[str] = mapped_column(String(16))
    ssi_status: Mapped[str] = mapped_column(String(12), comment="SSI enrichment: matched/mismatched/missing")
    booked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), comment="counterparty confirmation; null if not confirmed by end of day"
    )
    allocated_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), comment="block allocation; null if not allocated by end of day"
    )
    status: Mapped[str] = mapped_column(String(12), comment="latest known: pending/settled/failed/cancelled")


class CustodianConfirmation(Base):
    __tablename__ = "custodian_confirmations"
    __table_args__ = (
        Index(None, "trade_ref"),
        {
            "schema": "ops",
            "comment": "The custodians' daily statement of the bank's open trades: the external "
            "side of reconciliation. trade_ref is the bank's trade_id as the custodian knows it.",
        },
    )

    business_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    trade_ref: Mapped[str] = mapped_column(String(24), primary_key=True)
    custodian: Mapped[str] = mapped_column(String(24))
    instrument_id: Mapped[str] = mapped_column(String(12))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    price: Mapped[Decimal] = mapped_column(Numeric(20, 8))
    settle_date: Mapped[dt.date] = mapped_column(Date)
    counterparty_id: Mapped[str] = mapped_column(String(16))
    settlement_location: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class StatementDelivery(Base):
    __tablename__ = "statement_deliveries"
    __table_args__ = {
        "schema": "ops",
        "comment": "Each custodian's statement of a business date as last loaded from its statement-ready "
        "message: a message announcing the same file again (same sha256) loads nothing",
    }

    business_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    custodian: Mapped[str] = mapped_column(String(24), primary_key=True, comment="the custodian's code")
    object_key: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), comment="of the file's bytes, as the message announced")
    announced_rows: Mapped[int] = mapped_column(BigInteger)
    loaded_rows: Mapped[int] = mapped_column(BigInteger)
    quarantined_rows: Mapped[int] = mapped_column(BigInteger)
    kafka_partition: Mapped[int] = mapped_column(BigInteger)
    kafka_offset: Mapped[int] = mapped_column(BigInteger)
    dag_run_id: Mapped[str | None] = mapped_column(String(250))
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


MESSAGE_OUTCOMES = ("loaded", "duplicate", "superseded", "quarantined")


class StatementMessage(Base):
    __tablename__ = "statement_messages"
    __table_args__ = (
        CheckConstraint(_in("outcome", MESSAGE_OUTCOMES), name="outcome"),
        {
            "schema": "ops",
            "comment": "Every statement-ready message as handled: what became of it, in which run",
        },
    )

    kafka_partition: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kafka_offset: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_key: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    dag_run_id: Mapped[str | None] = mapped_column(String(250))
    handled_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SettlementOutcome(Base):
    __tablename__ = "settlement_outcomes"
    __table_args__ = (
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
        CheckConstraint("(outcome = 'failed') = (fail_reason IS NOT NULL)", name="fail_reason_iff_failed"),
        Index(None, "business_date"),
        # Fails are a few percent of the outcomes: reconciliation (trades still open after a
        # fail) and the fail-spike alert read them by date without touching the settled history.
        Index(
            "ix_settlement_outcomes_failed_business_date",
            "business_date",
            "trade_id",
            postgresql_where=text("outcome = 'failed'"),
        ),
        # A failed trade's settlement (late: days_late > 0), to tell the fails still open.
        Index(
            "ix_settlement_outcomes_late_business_date",
            "business_date",
            "trade_id",
            postgresql_where=text("outcome = 'settled' AND days_late > 0"),
        ),
        {
            "schema": "ops",
            "comment": "Settlement events per trade: 'settled' (on time, or late with days_late > 0) "
            "or 'failed' on the settle date with its reason. A failed trade later gets a 'settled' row.",
        },
    )

    trade_id: Mapped[str] = mapped_column(ForeignKey("ops.trades.trade_id"), primary_key=True)
    business_date: Mapped[dt.date] = mapped_column(
        Date, primary_key=True, comment="date the event was reported"
    )
    outcome: Mapped[str] = mapped_column(String(8))
    settled_date: Mapped[dt.date | None] = mapped_column(Date)
    days_late: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    fail_reason: Mapped[str | None] = mapped_column(String(32))


class CounterpartySettlementDay(Base):
    """Derived from ops.settlement_outcomes joined to ops.trades, one row per counterparty and
    reporting date, written with each date's outcomes (feed and bulk seed): the model's 90-day
    counterparty history reads 90 x counterparties rows instead of joining 90 days of outcomes
    to their trades on every scoring night (93 s at 1M trades a day)."""

    __tablename__ = "counterparty_settlement_days"
    __table_args__ = {
        "schema": "ops",
        "comment": "Per counterparty and reporting date: settlement attempts (a 'failed' or an on-time "
        "'settled' event) and fails, from ops.settlement_outcomes; replaced with each date's outcomes",
    }

    reported_on: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    counterparty_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    attempts: Mapped[int] = mapped_column(BigInteger)
    fails: Mapped[int] = mapped_column(BigInteger)


class FeedLoad(Base):
    """The last load of each source's file of a business date that changed the warehouse, written
    by the feed's loader in the load's transaction. Its transaction id tells a reader that
    recorded its own snapshot (a shadow comparison) whether the load may be missing from what it
    read."""

    __tablename__ = "feed_loads"
    __table_args__ = {
        "schema": "ops",
        "comment": "Each source's file of a business date as last loaded into the warehouse (merged)",
    }

    source: Mapped[str] = mapped_column(
        String(64), primary_key=True, comment="the file's source, as quarantined"
    )
    business_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    received_rows: Mapped[int] = mapped_column(BigInteger)
    loaded_rows: Mapped[int] = mapped_column(BigInteger)
    quarantined_rows: Mapped[int] = mapped_column(BigInteger)
    upserted: Mapped[bool] = mapped_column(
        Boolean, comment="went in by upsert over loaded rows: may have rewritten other dates' rows"
    )
    dag_run_id: Mapped[str | None] = mapped_column(String(250))
    load_xact_id: Mapped[int] = mapped_column(
        BigInteger, comment="the load's transaction (pg_current_xact_id)"
    )
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# --------------------------------------------------------------------------- ml


class TradeScore(Base):
    __tablename__ = "trade_scores"
    __table_args__ = (
        CheckConstraint(_in("risk_band", RISK_BANDS), name="risk_band"),
        CheckConstraint("score >= 0 AND score <= 1", name="score_is_probability"),
        Index(None, "trade_id"),
        {
            "schema": "ml",
            "comment": "Nightly settlement-fail risk scores of pending trades",
            # One partition per business date (ml.trade_scores_pYYYYMMDD, built and attached by
            # the scoring swap) and a default one: see migration 0005.
            "postgresql_partition_by": "LIST (business_date)",
        },
    )

    business_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    trade_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    model_name: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Double)
    risk_band: Mapped[str] = mapped_column(String(8))
    scoring_run_id: Mapped[str] = mapped_column(String(250))
    scored_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ShadowScore(Base):
    __tablename__ = "shadow_scores"
    __table_args__ = (
        CheckConstraint("score >= 0 AND score <= 1", name="score_is_probability"),
        Index(None, "trade_id"),
        {
            "schema": "ml",
            "comment": "The challenger's scores of pending trades, beside the champion's (shadow scoring)",
            # Partitioned and swapped like ml.trade_scores, in the same transaction: migration 0009.
            "postgresql_partition_by": "LIST (business_date)",
        },
    )

    business_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    trade_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    model_name: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Double)
    scoring_run_id: Mapped[str] = mapped_column(String(250))
    scored_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ShadowComparison(Base):
    __tablename__ = "shadow_comparisons"
    __table_args__ = (
        CheckConstraint(
            "realised_trades <= scored_trades AND fails <= realised_trades AND fails >= 0", name="counts"
        ),
        Index(None, "model_name", "challenger_version", "business_date"),
        {
            "schema": "ml",
            "comment": "Champion and challenger on the same trades of a date, once outcomes are known",
        },
    )

    business_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    model_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    champion_version: Mapped[str] = mapped_column(String(16))
    challenger_version: Mapped[str] = mapped_column(String(16), primary_key=True)
    scored_trades: Mapped[int] = mapped_column(BigInteger, comment="trades both models scored")
    realised_trades: Mapped[int] = mapped_column(BigInteger, comment="of them, outcome known")
    fails: Mapped[int] = mapped_column(BigInteger, comment="of them, failed to settle on time")
    champion_roc_auc: Mapped[float | None] = mapped_column(Double)
    challenger_roc_auc: Mapped[float | None] = mapped_column(Double)
    champion_pr_auc: Mapped[float | None] = mapped_column(Double)
    challenger_pr_auc: Mapped[float | None] = mapped_column(Double)
    champion_brier: Mapped[float | None] = mapped_column(Double)
    challenger_brier: Mapped[float | None] = mapped_column(Double)
    champion_calibration_error: Mapped[float | None] = mapped_column(Double)
    challenger_calibration_error: Mapped[float | None] = mapped_column(Double)
    outcomes_known_by: Mapped[dt.date] = mapped_column(Date, comment="the outcomes read: up to this date")
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    scoring_run_id: Mapped[str | None] = mapped_column(
        String(250), comment="the scoring run whose scores it compared"
    )
    scores_tables: Mapped[str | None] = mapped_column(
        String(32), comment="the date's two scores partitions it compared (OIDs): each swap attaches new ones"
    )
    inputs_snapshot: Mapped[str | None] = mapped_column(
        Text, comment="the snapshot its inputs were read in: a load not visible in it may be missing"
    )


class ModelPromotion(Base):
    __tablename__ = "model_promotions"
    __table_args__ = (
        CheckConstraint(_in("decision", PROMOTION_DECISIONS), name="decision"),
        CheckConstraint(_in("review_outcome", PROMOTION_REVIEWS), name="review_outcome"),
        Index(None, "model_name", "decided_at"),
        {"schema": "ml", "comment": "Audit trail of every promotion-gate decision and rollback"},
    )

    promotion_id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    model_name: Mapped[str] = mapped_column(String(64))
    candidate_version: Mapped[str] = mapped_column(String(16))
    previous_champion_version: Mapped[str | None] = mapped_column(String(16))
    decision: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    metrics: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    thresholds: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    evaluation_window: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    dag_id: Mapped[str] = mapped_column(String(250))
    dag_run_id: Mapped[str] = mapped_column(String(250))
    triggered_by: Mapped[str] = mapped_column(String(250))
    is_backfill: Mapped[bool] = mapped_column(Boolean, server_default="false")
    review_outcome: Mapped[str | None] = mapped_column(
        String(16), comment="approved, rejected, timed_out, not_required; NULL where no person is asked"
    )
    reviewed_by: Mapped[str | None] = mapped_column(String(250), comment="the approver's user name")
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), comment="when they answered"
    )
    review_comment: Mapped[str | None] = mapped_column(Text, comment="the approver's comment")


# --------------------------------------------------------------------------- reporting


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index(None, "rule_id", "business_date", "entity_key", unique=True),
        Index(None, "business_date"),
        {"schema": "reporting", "comment": "Alerts raised by the SQL rules, one per rule, date and entity"},
    )

    alert_id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    business_date: Mapped[dt.date] = mapped_column(Date)
    entity_key: Mapped[str] = mapped_column(String(128))
    severity: Mapped[str] = mapped_column(String(16))
    details: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    first_raised_date: Mapped[dt.date] = mapped_column(
        Date,
        comment="first business date this condition was raised; earlier than business_date if still open",
    )
    is_new: Mapped[bool] = mapped_column(Boolean, comment="raised for the first time on this business date")
    raised_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReconBreak(Base):
    __tablename__ = "recon_breaks"
    __table_args__ = (
        CheckConstraint(_in("break_type", BREAK_TYPES), name="break_type"),
        CheckConstraint(_in("status", BREAK_STATUSES), name="status"),
        Index(None, "business_date", "status"),
        Index(None, "trade_ref"),
        {
            "schema": "reporting",
            "comment": "Reconciliation breaks between ops.trades and the custodian statement, per business "
            "date: open breaks with their age, and breaks resolved on that date",
        },
    )

    business_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    trade_ref: Mapped[str] = mapped_column(String(24), primary_key=True)
    break_type: Mapped[str] = mapped_column(String(24), primary_key=True)
    status: Mapped[str] = mapped_column(String(8))
    first_seen_date: Mapped[dt.date] = mapped_column(Date)
    age_business_days: Mapped[int] = mapped_column(SmallInteger, comment="0 on the day it first appears")
    resolved_date: Mapped[dt.date | None] = mapped_column(Date)
    counterparty_id: Mapped[str | None] = mapped_column(String(16))
    instrument_id: Mapped[str | None] = mapped_column(String(12))
    internal_value: Mapped[str | None] = mapped_column(Text, comment="the bank's value of the field in break")
    custodian_value: Mapped[str | None] = mapped_column(Text, comment="the custodian's value")
    notional: Mapped[Decimal | None] = mapped_column(Numeric(22, 2))


class AlertRuleRun(Base):
    __tablename__ = "alert_rule_runs"
    __table_args__ = (
        CheckConstraint(_in("status", RULE_RUN_STATUSES), name="status"),
        {
            "schema": "reporting",
            "comment": "The last evaluation of each SQL alert rule per business date: what it found or why "
            "it failed, and the parameter values it was bound with",
        },
    )

    rule_id: Mapped[str] = mapped_column(String(64), primary_key=True, comment="the rule file's name")
    business_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    status: Mapped[str] = mapped_column(String(12))
    severity: Mapped[str | None] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(64))
    hits: Mapped[int | None] = mapped_column(BigInteger, comment="rows the rule returned")
    new_alerts: Mapped[int | None] = mapped_column(BigInteger, comment="hits not raised on the previous run")
    parameters: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    error: Mapped[str | None] = mapped_column(Text)
    dag_run_id: Mapped[str | None] = mapped_column(String(250))
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class QuarantinedRow(Base):
    __tablename__ = "quarantine"
    __table_args__ = (
        Index(None, "business_date", "source"),
        {"schema": "reporting", "comment": "Input rows rejected by a validation rule, kept whole"},
    )

    quarantine_id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    business_date: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(32), comment="trades, custodian_confirmations, ...")
    rule: Mapped[str] = mapped_column(String(64), comment="the validation rule the row broke")
    record_key: Mapped[str | None] = mapped_column(String(64))
    raw_record: Mapped[dict[str, Any]] = mapped_column()
    dag_run_id: Mapped[str | None] = mapped_column(String(250))
    quarantined_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# --------------------------------------------------------------------------- synthetic (ground truth)


class CounterpartyProfile(Base):
    __tablename__ = "counterparty_profiles"
    __table_args__ = {"schema": "synthetic", "comment": "Hidden fail propensity of each counterparty"}

    counterparty_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    fail_propensity: Mapped[float] = mapped_column(Double, comment="additive log-odds of failing")


class TradeFailProbability(Base):
    __tablename__ = "trade_fail_probability"
    __table_args__ = (
        Index(None, "business_date"),
        {"schema": "synthetic", "comment": "True probability that each trade fails to settle on time"},
    )

    trade_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    business_date: Mapped[dt.date] = mapped_column(Date)
    p_fail: Mapped[float] = mapped_column(Double)
    failed: Mapped[bool] = mapped_column(Boolean, comment="the drawn outcome")


class InjectedBreak(Base):
    __tablename__ = "injected_breaks"
    __table_args__ = {
        "schema": "synthetic",
        "comment": "Breaks injected into the custodian statement, per day",
    }

    business_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    trade_ref: Mapped[str] = mapped_column(String(24), primary_key=True)
    break_type: Mapped[str] = mapped_column(String(24), primary_key=True)


class SimulationConfig(Base):
    __tablename__ = "simulation_config"
    __table_args__ = {
        "schema": "synthetic",
        "comment": "The synthetic world the generator seeded: every day's data is a function of it",
    }

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    epoch: Mapped[dt.date] = mapped_column(Date, comment="first business date with bookings")
    trades_per_day: Mapped[int] = mapped_column(BigInteger)
    parameters: Mapped[dict[str, Any]] = mapped_column(comment="the full GeneratorConfig")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class InjectedBadRow(Base):
    __tablename__ = "injected_bad_rows"
    __table_args__ = {"schema": "synthetic", "comment": "Malformed rows injected into the feeds, by rule"}

    business_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    record_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule: Mapped[str] = mapped_column(String(64))


# --------------------------------------------------------------------------- events


class OutboxEvent(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("topic", "event_key"),
        {
            "schema": "events",
            "comment": "Operations events as raised by the Airflow callbacks, one per key; pending until a "
            "row in outbox_deliveries says Kafka acknowledged it",
        },
    )

    event_id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    topic: Mapped[str] = mapped_column(String(249), comment="the Kafka topic it goes to")
    event_key: Mapped[str] = mapped_column(
        String(1000),
        comment="the Kafka key: stable per event (dag, run, task, map index, try; or dag, run, deadline)",
    )
    event_type: Mapped[str] = mapped_column(String(64), comment="task_failed, deadline_missed")
    payload: Mapped[dict[str, Any]] = mapped_column()
    stored_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OutboxDelivery(Base):
    __tablename__ = "outbox_deliveries"
    __table_args__ = (
        CheckConstraint(_in("delivered_by", DELIVERED_BY), name="delivered_by"),
        ForeignKeyConstraint(["topic", "event_key"], ["events.outbox.topic", "events.outbox.event_key"]),
        {
            "schema": "events",
            "comment": "Kafka acknowledgements of the outbox's events: one row per delivered event",
        },
    )

    topic: Mapped[str] = mapped_column(String(249), primary_key=True)
    event_key: Mapped[str] = mapped_column(String(1000), primary_key=True)
    delivered_by: Mapped[str] = mapped_column(String(16), comment="callback or relay")
    delivered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
