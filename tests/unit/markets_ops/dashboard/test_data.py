"""The dashboard's queries: which SQL files run, with which bind parameters, in one read-only
transaction (a fake psycopg connection that answers from canned rows)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

from include.markets_ops.dashboard.data import SHADOW_ROWS, load_dashboard
from include.markets_ops.services.model_registry import MODEL_NAME
from include.markets_ops.services.sql_files import read_sql

SHADOW_ROW = {
    "business_date": dt.date(2026, 10, 29),
    "champion_version": "3",
    "challenger_version": "4",
    "fails": 140,
    "champion_roc_auc": None,
    "computed_at": dt.datetime(2026, 11, 6, 22, tzinfo=dt.UTC),
}


class FakeConnection:
    """Answers each dashboard SQL file named in ``answers`` with its rows, any other with none."""

    def __init__(self, answers: dict[str, list[dict[str, Any]]]) -> None:
        self.answers = {read_sql(f"dashboard/{name}"): rows for name, rows in answers.items()}
        self.statements: list[tuple[str, Any]] = []

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        yield

    def execute(self, sql: str, params: Any = None) -> None:
        self.statements.append((sql, params))

    @contextlib.contextmanager
    def cursor(self, row_factory: Any) -> Iterator[FakeConnection]:
        yield self

    def fetchall(self) -> list[dict[str, Any]]:
        return self.answers.get(self.statements[-1][0], [])

    def params_of(self, sql_file: str) -> list[Any]:
        sql = read_sql(f"dashboard/{sql_file}")
        return [params for statement, params in self.statements if statement == sql]


def test_the_shadow_comparisons_are_read_with_bind_parameters_in_the_read_only_transaction() -> None:
    connection = FakeConnection({"shadow_comparisons.sql": [SHADOW_ROW]})
    board = load_dashboard(connection, dt.date(2026, 10, 30))
    assert connection.statements[0] == ("SET TRANSACTION READ ONLY", None)
    assert connection.params_of("shadow_comparisons.sql") == [
        {"model_name": MODEL_NAME, "limit": SHADOW_ROWS}
    ]
    assert board.as_json()["shadow_comparisons"] == [
        {**SHADOW_ROW, "business_date": "2026-10-29", "computed_at": "2026-11-06T22:00:00+00:00"}
    ]


def test_the_shadow_comparisons_are_read_before_a_business_date_is_known() -> None:
    connection = FakeConnection({"latest_business_date.sql": [{"business_date": None}]})
    board = load_dashboard(connection, None)
    assert board.business_date is None
    assert board.shadow_comparisons == []
    assert len(connection.params_of("shadow_comparisons.sql")) == 1
