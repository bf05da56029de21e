from __future__ import annotations

import json
from pathlib import Path

import pytest

from include.markets_ops.synthetic.__main__ import main


def test_write_day_writes_every_file_of_the_landing_layout(tmp_path: Path, capsys) -> None:
    code = main(
        ["write-day", "--date", "2026-10-30", "--out", str(tmp_path), "--trades-per-day", "300",
         "--bad-row-rate", "0.02"]
    )  # fmt: skip
    assert code == 0
    folder = tmp_path / "landing" / "trades" / "business_date=2026-10-30"
    manifest = json.loads((folder / "_manifest.json").read_text())
    assert manifest["rows"] > 300  # the day's trades plus malformed ones
    assert (folder / "trades.csv.gz").stat().st_size == manifest["size_bytes"]
    names = {p.parent.parent.name for p in tmp_path.glob("landing/*/business_date=2026-10-30/_manifest.json")}
    assert names == {
        "currencies", "counterparties", "instruments", "settlement_instructions",
        "trades", "custodian_confirmations", "settlement_outcomes",
    }  # fmt: skip
    assert "landing/trades/business_date=2026-10-30/trades.csv.gz" in capsys.readouterr().out


def test_a_date_that_is_not_a_business_day_is_refused(tmp_path: Path, capsys) -> None:
    assert main(["write-day", "--date", "2026-11-26", "--out", str(tmp_path)]) == 2
    assert "not a XNYS business day" in capsys.readouterr().err


def test_seed_needs_the_database_urls(monkeypatch) -> None:
    monkeypatch.delenv("UPSTREAM_FEED_URL", raising=False)
    with pytest.raises(SystemExit, match="UPSTREAM_FEED_URL"):
        main(["seed", "--start", "2026-10-01", "--business-days", "1"])
