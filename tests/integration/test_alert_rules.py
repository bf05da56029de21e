"""Every alert rule on seeded scenarios: the hits it must raise and the rows it must not.

Each rule's tests are named ``test_<rule_id>__hits_...`` / ``test_<rule_id>__no_hit_...``
(tests/unit/markets_ops/alerting/test_every_rule_is_tested.py checks every rule file has both).
Rules run as in the DAG: the query through the read-only role's hook, the merge as the writer.
Each test uses its own business date in the module's 2032 range, far enough apart that no
test's alerts are another's "previous run".
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from include.markets_ops import calendars
from include.markets_ops.alerting import runner
from include.markets_ops.alerting import tasks as alerting_tasks
from include.markets_ops.alerting.rules import RuleError
from tests.support.warehouse_scenarios import (
    DATE_RANGES,
    Outcome,
    Scenario,
    Trade,
    clear_dates,
    connect,
    copy_rows,
)

FIRST, LAST = DATE_RANGES["alert_rules"]
MODEL_PREFIX = "test_alert_rules_"


def business_day(year: int, month: int, day: int) -> dt.date:
    date = dt.date(year, month, day)
    assert calendars.is_business_day(date, "XNYS"), date
    return date


def next_bd(day: dt.date, n: int = 1) -> dt.date:
    return calendars.add_business_days(day, n, "XNYS")


@pytest.fixture(scope="module")
def writer(stack: dict[str, str]):
    with connect(stack["POSTGRES_URL"]) as conn:
        clear_dates(conn, FIRST, LAST, model_prefix=MODEL_PREFIX)
        yield conn
        clear_dates(conn, FIRST, LAST, model_prefix=MODEL_PREFIX)


@pytest.fixture(scope="module")
def reporting(stack: dict[str, str]):
    return alerting_tasks.reporting()


def run(
    writer: Any,
    reporting: Any,
    rule_file: str,
    day: dt.date,
    overrides: dict[str, Any] | None = None,
    *,
    rules_dir: Path | None = None,
) -> dict[str, dict[str, Any]]:
    """Run one rule for ``day``; return its alerts of the day by entity key."""
    runner.run_rule_file(
        rule_file,
        day,
        overrides,
        reporting=reporting,
        writer_conn=writer,
        dag_run_id="pytest",
        rules_dir=rules_dir,
    )
    return alerts_of(writer, rule_file.removesuffix(".sql"), day)


def alerts_of(writer: Any, rule_id: str, day: dt.date) -> dict[str, dict[str, Any]]:
    with writer.cursor() as cur:
        cur.execute(
            "SELECT entity_key, alert_id, severity, details, first_raised_date, is_new, raised_at "
            "FROM reporting.alerts WHERE rule_id = %s AND business_date = %s",
            [rule_id, day],
        )
        columns = [c.name for c in cur.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
    writer.commit()
    return {row["entity_key"]: row for row in rows}


def rule_run(writer: Any, rule_id: str, day: dt.date) -> dict[str, Any]:
    with writer.cursor() as cur:
        cur.execute(
            "SELECT status, hits, new_alerts, parameters, error FROM reporting.alert_rule_runs "
            "WHERE rule_id = %s AND business_date = %s",
            [rule_id, day],
        )
        columns = [c.name for c in cur.description]
        row = cur.fetchone()
    writer.commit()
    assert row is not None, f"no run record for {rule_id} on {day}"
    return dict(zip(columns, row, strict=True))


# ----------------------------------------------------------------- high_risk_unmatched_settling_next_day

HIGH_RISK_DAY = business_day(2032, 1, 6)


@pytest.fixture(scope="module")
def high_risk_scenario(writer: Any) -> dict[str, str]:
    day, tomorrow = HIGH_RISK_DAY, next_bd(HIGH_RISK_DAY)
    on_time = dt.datetime.combine(day, dt.time(15), tzinfo=dt.UTC)
    too_late = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(9), tzinfo=dt.UTC)
    trades = {
        "unconfirmed": Trade("HR-UNCONF", day, tomorrow),
        "confirmed_clean": Trade("HR-CLEAN", day, tomorrow, confirmed_at=on_time),
        "confirmed_with_break": Trade("HR-BREAK", day, tomorrow, confirmed_at=on_time),
        "confirmed_after_day": Trade("HR-LATECONF", day, tomorrow, confirmed_at=too_late),
        "low_score": Trade("HR-LOW", day, tomorrow),
        "settles_later": Trade("HR-LATER", day, next_bd(day, 2)),
        "cancelled": Trade("HR-CXL", day, tomorrow, status="cancelled"),
    }
    scores = [(day, t.trade_id, 0.1 if key == "low_score" else 0.85) for key, t in trades.items()]
    Scenario(trades=list(trades.values()), scores=scores).load(writer)
    copy_rows(
        writer,
        "reporting.recon_breaks",
        "business_date, trade_ref, break_type, status, first_seen_date, age_business_days, counterparty_id",
        [(day, "HR-BREAK", "quantity_mismatch", "open", day, 0, "TCP-ALPHA")],
    )
    writer.commit()
    return {key: t.trade_id for key, t in trades.items()}


def test_high_risk_unmatched_settling_next_day__hits_unconfirmed_or_breaking_risky_trades(
    writer: Any, reporting: Any, high_risk_scenario: dict[str, str]
) -> None:
    alerts = run(writer, reporting, "high_risk_unmatched_settling_next_day.sql", HIGH_RISK_DAY)
    ids = high_risk_scenario
    assert set(alerts) == {ids["unconfirmed"], ids["confirmed_with_break"], ids["confirmed_after_day"]}
    breaking = alerts[ids["confirmed_with_break"]]["details"]
    assert breaking["open_breaks"] == ["quantity_mismatch"]
    assert breaking["counterparty_confirmed"] is True
    unconfirmed = alerts[ids["unconfirmed"]]["details"]
    assert unconfirmed["counterparty_confirmed"] is False
    assert unconfirmed["settle_date"] == next_bd(HIGH_RISK_DAY).isoformat()
    assert Decimal(str(unconfirmed["score"])) == Decimal("0.85")
    assert all(a["severity"] == "high" and a["is_new"] for a in alerts.values())


def test_high_risk_unmatched_settling_next_day__no_hit_below_a_raised_threshold(
    writer: Any, reporting: Any, high_risk_scenario: dict[str, str]
) -> None:
    alerts = run(
        writer, reporting, "high_risk_unmatched_settling_next_day.sql", HIGH_RISK_DAY, {"min_score": 0.9}
    )
    assert alerts == {}
    assert rule_run(writer, "high_risk_unmatched_settling_next_day", HIGH_RISK_DAY)["parameters"] == {
        "min_score": 0.9
    }


# ----------------------------------------------------------------- scoring_coverage

COVERAGE_DAY = business_day(2032, 2, 3)


@pytest.fixture(scope="module")
def coverage_scenario(writer: Any) -> list[str]:
    day = COVERAGE_DAY
    pending = [Trade(f"COV-P{i:03d}", day, next_bd(day)) for i in range(100)]
    # Not pending, so never counted: due on the date (and settled), cancelled, booked after the date.
    reported = Trade("COV-SETTLED", day, day)
    others = [
        reported,
        Trade("COV-CXL", day, next_bd(day), status="cancelled"),
        Trade("COV-FUTURE", next_bd(day), next_bd(day, 2)),
    ]
    Scenario(
        trades=pending + others,
        outcomes=[Outcome(reported.trade_id, day, "settled")],
        scores=[(day, t.trade_id, 0.2) for t in pending[:98]],
    ).load(writer)
    return [t.trade_id for t in pending]


def test_scoring_coverage__hits_when_the_scored_share_is_below_the_minimum(
    writer: Any, reporting: Any, coverage_scenario: list[str]
) -> None:
    alerts = run(writer, reporting, "scoring_coverage.sql", COVERAGE_DAY)
    assert list(alerts) == ["settlement_fail_risk"]
    details = alerts["settlement_fail_risk"]["details"]
    assert details["pending_trades"] == 100
    assert details["scored_trades"] == 98
    assert details["unscored_trades"] == 2
    assert alerts["settlement_fail_risk"]["severity"] == "critical"


def test_scoring_coverage__no_hit_when_the_share_meets_the_minimum(
    writer: Any, reporting: Any, coverage_scenario: list[str]
) -> None:
    assert run(writer, reporting, "scoring_coverage.sql", COVERAGE_DAY, {"min_share": 0.98}) == {}


# ----------------------------------------------------------------- score_drift_psi

DRIFT_DAY = business_day(2032, 3, 16)  # its reference window starts after COVERAGE_DAY


def _scores(day: dt.date, prefix: str, values: list[float]) -> list[tuple[dt.date, str, float]]:
    return [(day, f"{prefix}{i:04d}", v) for i, v in enumerate(values)]


@pytest.fixture(scope="module")
def drift_reference(writer: Any) -> None:
    """20 business days of scores spread evenly over [0, 0.5), 600 a day."""
    day = DRIFT_DAY
    scores = []
    for n in range(1, 21):
        reference_day = calendars.add_business_days(day, -n, "XNYS")
        scores += _scores(reference_day, f"DR{n:02d}-", [(i % 500) / 1000 for i in range(600)])
    Scenario(scores=scores).load(writer)


def _score_today(writer: Any, values: list[float]) -> None:
    with writer.transaction(), writer.cursor() as cur:
        cur.execute("DELETE FROM ml.trade_scores WHERE business_date = %s", [DRIFT_DAY])
    Scenario(scores=_scores(DRIFT_DAY, "DRT-", values)).load(writer)


def test_score_drift_psi__hits_when_today_scores_shift_upwards(
    writer: Any, reporting: Any, drift_reference: None
) -> None:
    _score_today(writer, [0.3 + (i % 500) / 1000 for i in range(600)])  # shifted by 0.3
    alerts = run(writer, reporting, "score_drift_psi.sql", DRIFT_DAY)
    assert list(alerts) == ["settlement_fail_risk"]
    details = alerts["settlement_fail_risk"]["details"]
    assert details["psi"] > 1.0
    assert details["today_scores"] == 600
    assert details["reference_scores"] == 20 * 600
    assert details["reference_from"] == calendars.add_business_days(DRIFT_DAY, -20, "XNYS").isoformat()


def test_score_drift_psi__no_hit_when_today_looks_like_the_reference(
    writer: Any, reporting: Any, drift_reference: None
) -> None:
    _score_today(writer, [((i * 7) % 500) / 1000 for i in range(600)])  # same values, other order
    assert run(writer, reporting, "score_drift_psi.sql", DRIFT_DAY) == {}


def test_score_drift_psi__no_hit_with_too_few_scores_to_judge(
    writer: Any, reporting: Any, drift_reference: None
) -> None:
    _score_today(writer, [0.9] * 100)
    assert run(writer, reporting, "score_drift_psi.sql", DRIFT_DAY) == {}
    assert run(writer, reporting, "score_drift_psi.sql", DRIFT_DAY, {"min_scores": 100}) != {}


# ----------------------------------------------------------------- stale_champion

STALE_DAY = business_day(2032, 4, 6)


def _promotions(writer: Any, model: str, *decisions: tuple[int, str, str]) -> None:
    """(days before STALE_DAY, version, decision) rows for ``model``."""
    Scenario(
        promotions=[
            {
                "decided_at": dt.datetime.combine(
                    STALE_DAY - dt.timedelta(days=days), dt.time(12), tzinfo=dt.UTC
                ),
                "model_name": model,
                "version": version,
                "decision": decision,
                "reasons": ["auc_below_minimum"] if decision == "rejected" else [],
            }
            for days, version, decision in decisions
        ]
    ).load(writer)


def test_stale_champion__hits_without_any_champion(writer: Any, reporting: Any) -> None:
    model = f"{MODEL_PREFIX}none"
    alerts = run(writer, reporting, "stale_champion.sql", STALE_DAY, {"model_name": model})
    assert alerts[model]["details"]["reasons"] == ["no_champion"]


def test_stale_champion__hits_when_the_champion_is_older_than_max_age(writer: Any, reporting: Any) -> None:
    model = f"{MODEL_PREFIX}old"
    _promotions(writer, model, (40, "3", "promoted"))
    alerts = run(writer, reporting, "stale_champion.sql", STALE_DAY, {"model_name": model})
    details = alerts[model]["details"]
    assert details["reasons"] == ["champion_older_than_max_age"]
    assert details["champion_version"] == "3"
    assert details["champion_age_days"] == 40


def test_stale_champion__hits_when_the_last_promotion_was_rejected(writer: Any, reporting: Any) -> None:
    model = f"{MODEL_PREFIX}rejected"
    _promotions(writer, model, (10, "4", "promoted"), (2, "5", "rejected"))
    alerts = run(writer, reporting, "stale_champion.sql", STALE_DAY, {"model_name": model})
    details = alerts[model]["details"]
    assert details["reasons"] == ["last_promotion_rejected"]
    assert details["champion_version"] == "4"
    assert details["last_gate_version"] == "5"
    assert details["last_gate_reasons"] == ["auc_below_minimum"]


def test_stale_champion__no_hit_for_a_recent_champion_and_later_decisions_are_not_seen(
    writer: Any, reporting: Any
) -> None:
    model = f"{MODEL_PREFIX}fresh"
    # Rejected after the business date: a backfill of STALE_DAY must not see it.
    _promotions(writer, model, (40, "1", "bootstrapped"), (10, "2", "promoted"), (-3, "3", "rejected"))
    assert run(writer, reporting, "stale_champion.sql", STALE_DAY, {"model_name": model}) == {}


def test_stale_champion__sees_the_champion_that_scored_the_date(writer: Any, reporting: Any) -> None:
    """A champion promoted after the business date but before the date's scores were written
    (a first model trained on demand, a rescoring) is the model of that night: no alert."""
    model = f"{MODEL_PREFIX}scored"
    day = business_day(2032, 4, 20)
    promoted_at = dt.datetime.combine(day + dt.timedelta(days=2), dt.time(9), tzinfo=dt.UTC)
    scored_at = promoted_at + dt.timedelta(minutes=5)
    writer.execute(
        "INSERT INTO ml.model_promotions (decided_at, model_name, candidate_version, decision, dag_id, "
        "dag_run_id, triggered_by) VALUES (%s, %s, '1', 'bootstrapped', 'test', 'test', 'test')",
        [promoted_at, model],
    )
    writer.execute(
        "INSERT INTO ml.trade_scores (business_date, trade_id, model_name, model_version, score, "
        "risk_band, scoring_run_id, scored_at) VALUES (%s, 'T-STALE-1', %s, '1', 0.1, 'low', 'test', %s)",
        [day, model, scored_at],
    )
    writer.commit()
    assert run(writer, reporting, "stale_champion.sql", day, {"model_name": model}) == {}
    # Without scores for the date, the end of the business date is what was known: no champion.
    writer.execute("DELETE FROM ml.trade_scores WHERE business_date = %s", [day])
    writer.commit()
    alerts = run(writer, reporting, "stale_champion.sql", day, {"model_name": model})
    assert alerts[model]["details"]["reasons"] == ["no_champion"]


# ----------------------------------------------------------------- aged_recon_breaks

AGED_DAY = business_day(2032, 5, 4)

BREAK_COLUMNS = (
    "business_date, trade_ref, break_type, status, first_seen_date, age_business_days, resolved_date, "
    "counterparty_id, notional"
)


def _breaks(writer: Any, day: dt.date, rows: list[tuple[str, str, str, int, str]]) -> None:
    """(trade_ref, break_type, status, age, counterparty) rows of ``day``, replacing the day's."""
    with writer.transaction(), writer.cursor() as cur:
        cur.execute("DELETE FROM reporting.recon_breaks WHERE business_date = %s", [day])
    copy_rows(
        writer,
        "reporting.recon_breaks",
        BREAK_COLUMNS,
        [
            (
                day,
                ref,
                kind,
                status,
                calendars.add_business_days(day, -age, "XNYS"),
                age,
                day if status == "resolved" else None,
                cp,
                Decimal("1000.00"),
            )
            for ref, kind, status, age, cp in rows
        ],
    )
    writer.commit()


def test_aged_recon_breaks__hits_one_alert_per_counterparty_with_aged_breaks(
    writer: Any, reporting: Any
) -> None:
    _breaks(
        writer,
        AGED_DAY,
        [
            ("AG-1", "price_mismatch", "open", 6, "TCP-ALPHA"),
            ("AG-2", "missing_at_custodian", "open", 8, "TCP-ALPHA"),
            ("AG-3", "price_mismatch", "open", 3, "TCP-ALPHA"),  # not aged yet
            ("AG-4", "quantity_mismatch", "open", 7, "TCP-BETA"),
            ("AG-5", "quantity_mismatch", "resolved", 9, "TCP-GAMMA"),  # resolved: not open
            ("AG-6", "counterparty_mismatch", "open", 5, "TCP-DELTA"),  # exactly 5: not more than 5
        ],
    )
    alerts = run(writer, reporting, "aged_recon_breaks.sql", AGED_DAY)
    assert set(alerts) == {"TCP-ALPHA", "TCP-BETA"}
    alpha = alerts["TCP-ALPHA"]["details"]
    assert alpha["aged_breaks"] == 2
    assert alpha["oldest_age_business_days"] == 8
    assert alpha["breaks_by_type"] == {"missing_at_custodian": 1, "price_mismatch": 1}
    assert alpha["oldest_trade_refs"] == ["AG-2", "AG-1"]
    assert Decimal(str(alpha["notional"])) == Decimal("2000.00")


def test_aged_recon_breaks__no_hit_when_no_break_is_older_than_the_threshold(
    writer: Any, reporting: Any
) -> None:
    day = next_bd(AGED_DAY, 7)
    _breaks(writer, day, [("AG-7", "price_mismatch", "open", 2, "TCP-ALPHA")])
    assert run(writer, reporting, "aged_recon_breaks.sql", day) == {}
    assert run(writer, reporting, "aged_recon_breaks.sql", day, {"min_age_business_days": 1}) != {}


# ----------------------------------------------------------------- failed_settlement_spike

SPIKE_DAY = business_day(2032, 6, 1)


@pytest.fixture(scope="module")
def spike_scenario(writer: Any) -> None:
    """TCP-ALPHA: one fail every fourth day, then 8 today. TCP-BETA: 4 to 6 fails every day, 6 today.
    TCP-GAMMA: never failed before, 2 today (below min_fails)."""
    trades, outcomes = [], []

    def fail(day: dt.date, counterparty: str, count: int) -> None:
        for i in range(count):
            trade = Trade(f"SP-{counterparty[-4:]}-{day:%m%d}-{i}", day, day, counterparty_id=counterparty)
            trades.append(trade)
            outcomes.append(Outcome(trade.trade_id, day, "failed", "insufficient_securities"))

    for n in range(1, 21):
        day = calendars.add_business_days(SPIKE_DAY, -n, "XNYS")
        fail(day, "TCP-ALPHA", 1 if n % 4 == 0 else 0)
        fail(day, "TCP-BETA", 4 + n % 3)
    fail(SPIKE_DAY, "TCP-ALPHA", 8)
    fail(SPIKE_DAY, "TCP-BETA", 6)
    fail(SPIKE_DAY, "TCP-GAMMA", 2)
    # A settled trade of the day is not a fail.
    settled = Trade("SP-SETTLED", SPIKE_DAY, SPIKE_DAY, counterparty_id="TCP-BETA")
    trades.append(settled)
    outcomes.append(Outcome(settled.trade_id, SPIKE_DAY, "settled"))
    Scenario(trades=trades, outcomes=outcomes).load(writer)


def test_failed_settlement_spike__hits_a_counterparty_far_above_its_mean(
    writer: Any, reporting: Any, spike_scenario: None
) -> None:
    alerts = run(writer, reporting, "failed_settlement_spike.sql", SPIKE_DAY)
    assert set(alerts) == {"TCP-ALPHA"}
    details = alerts["TCP-ALPHA"]["details"]
    assert details["fails_today"] == 8
    assert details["baseline_days"] == 20
    assert Decimal(str(details["baseline_mean"])) == Decimal("0.250")
    # stddev of five 1s among twenty days is 0.444, floored at 1.0: z = (8 - 0.25) / 1.0
    assert Decimal(str(details["z_score"])) == Decimal("7.75")


def test_failed_settlement_spike__no_hit_within_a_counterparty_usual_level(
    writer: Any, reporting: Any, spike_scenario: None
) -> None:
    alerts = run(writer, reporting, "failed_settlement_spike.sql", SPIKE_DAY, {"min_z_score": 8.0})
    assert alerts == {}
    lenient = run(
        writer, reporting, "failed_settlement_spike.sql", SPIKE_DAY, {"min_fails": 1, "min_z_score": 1.5}
    )
    # GAMMA (2 fails, never before: z = 2) now counts; BETA (6 against a mean of 5) still does not.
    assert set(lenient) == {"TCP-ALPHA", "TCP-GAMMA"}


# ----------------------------------------------------------------- merging into reporting.alerts


def test_a_rerun_updates_the_same_alert_rows_and_never_duplicates(writer: Any, reporting: Any) -> None:
    day = business_day(2032, 7, 6)
    _breaks(writer, day, [("MG-1", "price_mismatch", "open", 9, "TCP-ALPHA")])
    first = run(writer, reporting, "aged_recon_breaks.sql", day)
    second = run(writer, reporting, "aged_recon_breaks.sql", day)
    assert list(first) == list(second) == ["TCP-ALPHA"]
    assert first["TCP-ALPHA"]["alert_id"] == second["TCP-ALPHA"]["alert_id"]
    assert first["TCP-ALPHA"]["raised_at"] == second["TCP-ALPHA"]["raised_at"]
    assert second["TCP-ALPHA"]["is_new"] is True  # still the day it was first raised


def test_a_condition_still_open_the_next_day_is_not_raised_again(writer: Any, reporting: Any) -> None:
    day1 = business_day(2032, 7, 13)
    day2 = next_bd(day1)
    _breaks(writer, day1, [("MG-2", "price_mismatch", "open", 9, "TCP-BETA")])
    _breaks(
        writer,
        day2,
        [
            ("MG-2", "price_mismatch", "open", 10, "TCP-BETA"),
            ("MG-3", "price_mismatch", "open", 6, "TCP-GAMMA"),
        ],
    )
    run(writer, reporting, "aged_recon_breaks.sql", day1)
    alerts = run(writer, reporting, "aged_recon_breaks.sql", day2)
    assert alerts["TCP-BETA"]["is_new"] is False
    assert alerts["TCP-BETA"]["first_raised_date"] == day1
    assert alerts["TCP-GAMMA"]["is_new"] is True
    assert alerts["TCP-GAMMA"]["first_raised_date"] == day2
    assert rule_run(writer, "aged_recon_breaks", day2)["new_alerts"] == 1


def test_a_rerun_after_the_condition_cleared_removes_the_alert(writer: Any, reporting: Any) -> None:
    day = business_day(2032, 7, 20)
    _breaks(writer, day, [("MG-4", "price_mismatch", "open", 9, "TCP-DELTA")])
    assert set(run(writer, reporting, "aged_recon_breaks.sql", day)) == {"TCP-DELTA"}
    _breaks(writer, day, [("MG-4", "price_mismatch", "resolved", 9, "TCP-DELTA")])
    assert run(writer, reporting, "aged_recon_breaks.sql", day) == {}


def test_after_a_long_gap_an_open_condition_is_raised_as_new_again(writer: Any, reporting: Any) -> None:
    day1 = business_day(2032, 7, 27)
    later = next_bd(day1, runner.MAX_GAP_BUSINESS_DAYS + 1)
    for day in (day1, later):
        _breaks(writer, day, [("MG-5", "price_mismatch", "open", 9, "TCP-ALPHA")])
    run(writer, reporting, "aged_recon_breaks.sql", day1)
    assert run(writer, reporting, "aged_recon_breaks.sql", later)["TCP-ALPHA"]["is_new"] is True


# ----------------------------------------------------------------- safety


def test_a_parameter_value_containing_sql_is_treated_as_data(writer: Any, reporting: Any) -> None:
    day = business_day(2032, 8, 3)
    hostile = "x'); DROP TABLE reporting.alerts; --"
    alerts = run(writer, reporting, "stale_champion.sql", day, {"model_name": hostile})
    # The value came back as the entity key, byte for byte: it was compared as a string, never run.
    assert list(alerts) == [hostile]
    assert alerts[hostile]["details"]["reasons"] == ["no_champion"]
    with writer.cursor() as cur:
        cur.execute("SELECT to_regclass('reporting.alerts') IS NOT NULL")
        assert cur.fetchone() == (True,)
    writer.commit()


FAILURE_DAY = business_day(2032, 9, 7)
GOOD_RULE = """/*
id: {rule_id}
severity: low
owner: pytest
description: one row for the business date
*/
SELECT 'day-' || %(business_date)s::text AS entity_key, jsonb_build_object('ok', true) AS details
"""


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    (tmp_path / "good_rule.sql").write_text(GOOD_RULE.format(rule_id="good_rule"))
    (tmp_path / "bad_header.sql").write_text(
        "-- id: bad_header\nSELECT 1 AS entity_key, '{}'::jsonb AS details"
    )
    (tmp_path / "unknown_param.sql").write_text(
        GOOD_RULE.format(rule_id="unknown_param").replace("%(business_date)s", "%(report_date)s")
    )
    (tmp_path / "failing_query.sql").write_text(
        GOOD_RULE.format(rule_id="failing_query").replace("jsonb_build_object('ok', true)", "to_jsonb(1 / 0)")
    )
    (tmp_path / "writes_data.sql").write_text(
        GOOD_RULE.format(rule_id="writes_data").replace(
            "SELECT 'day-'",
            "WITH gone AS (DELETE FROM reporting.alerts WHERE false RETURNING 1) SELECT 'day-'",
        )
    )
    return tmp_path


@pytest.mark.parametrize(
    ("rule_file", "error"),
    [
        ("bad_header.sql", "bad_header.sql: malformed header"),
        ("unknown_param.sql", "unknown_param.sql: unknown parameter %(report_date)s"),
        ("failing_query.sql", "division by zero"),
        ("writes_data.sql", "read-only transaction"),
    ],
)
def test_a_broken_rule_fails_naming_its_file_and_error_and_the_others_still_run(
    writer: Any, reporting: Any, rules_dir: Path, rule_file: str, error: str
) -> None:
    with pytest.raises((RuleError, psycopg.Error)) as raised:
        run(writer, reporting, rule_file, FAILURE_DAY, rules_dir=rules_dir)
    assert error in str(raised.value)
    assert runner.is_permanent(raised.value)  # no retries for a broken rule
    record = rule_run(writer, rule_file.removesuffix(".sql"), FAILURE_DAY)
    assert record["status"] == "failed"
    assert rule_file in record["error"]
    assert error in record["error"]
    # A good rule next to it runs normally.
    assert set(run(writer, reporting, "good_rule.sql", FAILURE_DAY, rules_dir=rules_dir)) == {
        f"day-{FAILURE_DAY.isoformat()}"
    }
    assert rule_run(writer, "good_rule", FAILURE_DAY)["status"] == "succeeded"


def test_an_override_of_an_unknown_parameter_fails_the_rule(
    writer: Any, reporting: Any, rules_dir: Path
) -> None:
    with pytest.raises(RuleError, match=r"good_rule.sql: unknown parameter 'threshold'"):
        run(writer, reporting, "good_rule.sql", FAILURE_DAY, {"threshold": 3}, rules_dir=rules_dir)
    assert rule_run(writer, "good_rule", FAILURE_DAY)["status"] == "failed"


def test_a_rule_running_past_the_statement_timeout_fails_naming_its_file_and_is_retried(
    writer: Any, rules_dir: Path
) -> None:
    (rules_dir / "slow_query.sql").write_text(
        # A valid rule that would hit once after sleeping 5 s.
        GOOD_RULE.format(rule_id="slow_query").replace("AS details\n", "AS details\nFROM pg_sleep(5)\n")
    )
    # The read-only role's sessions as the DAG opens them, with a small timeout.
    impatient = alerting_tasks.reporting(statement_timeout_ms=300)
    with impatient() as session:
        assert session.execute("SHOW statement_timeout").fetchone() == ("300ms",)

    started = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled) as raised:
        run(writer, impatient, "slow_query.sql", FAILURE_DAY, rules_dir=rules_dir)
    assert time.monotonic() - started < 5  # cancelled by the server, not run to the end
    assert "canceling statement due to statement timeout" in str(raised.value)
    # Recorded like any other failed query: the rule's file and the database's error...
    record = rule_run(writer, "slow_query", FAILURE_DAY)
    assert record["status"] == "failed"
    assert record["error"].startswith("slow_query.sql: QueryCanceled: ")
    assert "statement timeout" in record["error"]
    assert alerts_of(writer, "slow_query", FAILURE_DAY) == {}
    # ...but not a broken rule: a timeout may pass on a quieter database, so the task retries it.
    assert not runner.is_permanent(raised.value)
    # The other rules still run on the same connections.
    assert set(run(writer, impatient, "good_rule.sql", FAILURE_DAY, rules_dir=rules_dir)) == {
        f"day-{FAILURE_DAY.isoformat()}"
    }
