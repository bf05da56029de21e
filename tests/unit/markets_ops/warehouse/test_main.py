"""``python -m include.markets_ops.warehouse sql DIR``: the offline scripts make lint checks,
written without a database URL, replacing what an earlier run left."""

from __future__ import annotations

from pathlib import Path

import pytest

from include.markets_ops.warehouse.__main__ import main


def test_sql_writes_one_script_per_revision_and_needs_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("WAREHOUSE_OWNER_URL", raising=False)
    stale = tmp_path / "0099_removed_revision.sql"
    stale.write_text("CREATE INDEX ix ON ops.trades (trade_id);")

    assert main(["sql", str(tmp_path)]) == 0

    written = sorted(path.name for path in tmp_path.glob("*.sql"))
    assert "0099_removed_revision.sql" not in written
    assert written[0] == "0001_initial_warehouse_schema.sql"
    assert "0006_trades_in_scoring_order.sql" in written
    assert capsys.readouterr().out.split() == [str(tmp_path / name) for name in written]
    assert "CREATE INDEX CONCURRENTLY" in (tmp_path / "0006_trades_in_scoring_order.sql").read_text()


def test_the_database_commands_still_need_the_owner_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAREHOUSE_OWNER_URL", raising=False)
    with pytest.raises(SystemExit):
        main(["upgrade"])
