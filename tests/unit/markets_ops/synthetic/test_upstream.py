"""A day generated block by block, straight into its files: the same files as the whole day's
tables, at a volume of several booking blocks and bad-row chunks (both made small here)."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from pathlib import Path

import numpy as np
import pytest

from include.markets_ops.feed import landing, sources
from include.markets_ops.synthetic import bad_rows, bookings, upstream
from include.markets_ops.synthetic.config import GeneratorConfig

CONFIG = GeneratorConfig(seed=3, epoch=dt.date(2026, 10, 1), trades_per_day=4_000)
DAY = dt.date(2026, 10, 19)
BAD_ROW_RATE = 0.01


@pytest.fixture(autouse=True)
def small_blocks_and_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bookings, "BLOCK_TRADES", 1_500)  # 3 blocks a day, the last one short
    monkeypatch.setattr(bad_rows, "CHUNK_ROWS", 1_200)  # every file several chunks


def test_a_day_of_several_blocks_numbers_its_trades_in_order_each_block_from_its_own_stream() -> None:
    day = bookings.generate(CONFIG, DAY)
    blocks = [bookings.generate_block(CONFIG, DAY, block) for block in range(3)]

    assert bookings.block_count(CONFIG) == 3
    assert [len(block) for block in blocks] == [1_500, 1_500, 1_000]
    assert day.position.tolist() == list(range(4_000))
    assert np.array_equal(day.price_units, np.concatenate([block.price_units for block in blocks]))
    assert not np.array_equal(blocks[0].price_units[:1_000], blocks[2].price_units)
    with pytest.raises(ValueError, match="outside a day of 4000 trades"):
        bookings.generate_block(CONFIG, DAY, 3)


def test_the_files_written_as_the_day_is_generated_are_the_whole_day_files(tmp_path: Path) -> None:
    whole = upstream.upstream_day(CONFIG, DAY, BAD_ROW_RATE)
    manifests = upstream.write_day_files(CONFIG, DAY, tmp_path, BAD_ROW_RATE)

    for manifest in manifests:
        written = gzip.decompress((tmp_path / manifest.object_key).read_bytes())
        assert written == landing.csv_bytes(whole.files[manifest.source]), manifest.source
        assert manifest.rows == whole.files[manifest.source].num_rows
    with upstream.generate_files(CONFIG, DAY, BAD_ROW_RATE) as day:
        assert day.injected_bad_rows.equals(whole.injected_bad_rows)
        assert day.trade_fail_probability.equals(whole.day.trade_fail_probability)
        assert day.injected_breaks.equals(whole.day.injected_breaks)


@pytest.mark.parametrize("source", [source.name for source in sources.DAILY_SOURCES])
def test_a_bad_row_of_a_later_chunk_is_recorded_by_its_line_in_the_whole_file(source: str) -> None:
    day = upstream.upstream_day(CONFIG, DAY, BAD_ROW_RATE)
    lines = list(csv.DictReader(io.StringIO(landing.csv_bytes(day.files[source]).decode())))
    key = bad_rows.CORRUPTIONS[source][0]
    recorded = day.injected_bad_rows.filter(
        day.injected_bad_rows["source"].to_numpy(zero_copy_only=False) == source
    )
    keyless = [k for k in recorded["record_key"].to_pylist() if k.startswith("line:")]
    keyed = [k for k in recorded["record_key"].to_pylist() if not k.startswith("line:")]

    assert len(lines) > 2 * bad_rows.CHUNK_ROWS  # three chunks or more
    assert keyless
    assert max(int(k.removeprefix("line:")) for k in keyless) > bad_rows.CHUNK_ROWS
    for record_key in keyless:
        assert lines[int(record_key.removeprefix("line:")) - 1][key] == ""
    file_keys = {line[key] for line in lines}
    assert set(keyed) <= file_keys
    assert len(set(keyed)) == len(keyed)  # numbered across the file's chunks: no key given twice
