"""A dry run's upstream files: delivered and read back under the preview prefix, never landing/."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from include.markets_ops.feed import landing

DAY = dt.date(2026, 10, 30)
TABLE = pa.table({"trade_id": ["T1", "T2"], "quantity": pa.array([1.0, 2.0])})
PREVIEW = "previews/ops_demo_feed/manual__x/"


def test_files_go_under_the_preview_prefix_and_are_read_back_from_there(tmp_path: Path) -> None:
    store = landing.PrefixedStore(landing.LocalStore(tmp_path), PREVIEW)
    landing.publish(store, "trades", DAY, TABLE)
    assert not (tmp_path / "landing").exists()
    assert (tmp_path / PREVIEW / landing.object_key("trades", DAY)).exists()
    manifest = landing.read_manifest(store, "trades", DAY)
    assert b"".join(landing.stream(store, manifest)).decode().splitlines()[1] == '"T1",1'


def test_the_prefix_is_a_folder() -> None:
    with pytest.raises(ValueError, match="must end with"):
        landing.PrefixedStore(landing.LocalStore(Path("/tmp")), "previews/x")
