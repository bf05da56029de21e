"""The migrations' offline SQL scripts, one per revision (what `make lint` gives squawk): every
revision file has one, each sets the migration timeouts first, and the indexes on tables that
already exist are built and dropped CONCURRENTLY outside the revision's transaction."""

from __future__ import annotations

import re

import pytest

from include.markets_ops.warehouse import migrate
from include.markets_ops.warehouse.migration_timeouts import LOCK_TIMEOUT_ENV, STATEMENT_TIMEOUT_ENV


def statements(script: str) -> list[str]:
    """The script's statements, comments left out, whitespace collapsed (splitting on ';' is
    enough to find the SET, BEGIN, COMMIT and index statements checked here)."""
    without_comments = re.sub(r"--[^\n]*", "", script)
    return [re.sub(r"\s+", " ", part).strip() for part in without_comments.split(";") if part.strip()]


def outside_transactions(script: str) -> list[str]:
    """The statements a script runs outside BEGIN ... COMMIT."""
    outside, in_transaction = [], False
    for statement in statements(script):
        if statement == "BEGIN":
            in_transaction = True
        elif statement == "COMMIT":
            in_transaction = False
        elif not in_transaction:
            outside.append(statement)
    return outside


@pytest.fixture(scope="module")
def scripts() -> dict[str, str]:
    with pytest.MonkeyPatch.context() as env:
        env.delenv(LOCK_TIMEOUT_ENV, raising=False)
        env.delenv(STATEMENT_TIMEOUT_ENV, raising=False)
        return migrate.offline_upgrade_scripts()


def test_every_revision_file_has_its_own_script_in_order(scripts: dict[str, str]) -> None:
    files = sorted(path.stem for path in (migrate.MIGRATIONS / "versions").glob("*.py"))
    assert list(scripts) == files
    assert "0006_trades_in_scoring_order" in scripts


def test_each_script_sets_the_timeouts_before_anything_else(scripts: dict[str, str]) -> None:
    for name, script in scripts.items():
        assert statements(script)[:3] == [
            "SET lock_timeout = '5s'",
            "SET statement_timeout = '30min'",
            "BEGIN",
        ], name


def test_the_timeouts_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "2s")
    monkeypatch.setenv(STATEMENT_TIMEOUT_ENV, "1h")
    script = migrate.offline_upgrade_scripts()["0006_trades_in_scoring_order"]
    assert statements(script)[:2] == ["SET lock_timeout = '2s'", "SET statement_timeout = '1h'"]


def test_0006_builds_and_drops_the_trades_indexes_concurrently_outside_the_transaction(
    scripts: dict[str, str],
) -> None:
    assert outside_transactions(scripts["0006_trades_in_scoring_order"]) == [
        "SET lock_timeout = '5s'",
        "SET statement_timeout = '30min'",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_trades_business_date_trade_id "
        'ON ops.trades (business_date, trade_id COLLATE "C")',
        "DROP INDEX CONCURRENTLY IF EXISTS ops.ix_trades_business_date",
    ]


def test_0004_builds_the_settlement_outcomes_indexes_concurrently_before_its_new_table(
    scripts: dict[str, str],
) -> None:
    script = scripts["0004_reports_alert_rule_runs"]
    concurrent = [s for s in outside_transactions(script) if s.startswith("CREATE INDEX")]
    assert concurrent == [
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_settlement_outcomes_failed_business_date "
        "ON ops.settlement_outcomes (business_date, trade_id) WHERE outcome = 'failed'",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_settlement_outcomes_late_business_date "
        "ON ops.settlement_outcomes (business_date, trade_id) WHERE outcome = 'settled' AND days_late > 0",
    ]
    assert script.index("CREATE INDEX CONCURRENTLY") < script.index("CREATE TABLE reporting.alert_rule_runs")


def test_no_index_statement_on_an_existing_table_runs_inside_a_transaction(scripts: dict[str, str]) -> None:
    """Plain CREATE INDEX only on a table its own script creates (squawk checks the same in
    make lint; this names the offender in the test run too)."""
    plain = []
    for name, script in scripts.items():
        created = set(re.findall(r"CREATE TABLE (\S+)", script))
        for statement in statements(script):
            index = re.match(
                r"(CREATE (UNIQUE )?|DROP )INDEX (?!CONCURRENTLY)(\S+ ON )?(?P<table>\S+)", statement
            )
            if index:
                plain.append(statement)
                assert index["table"] in created, f"{name}: {statement}"
    assert len(plain) >= 10  # 0001's and 0005's indexes on their own new tables were checked
