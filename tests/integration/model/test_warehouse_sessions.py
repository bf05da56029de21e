"""The model jobs' warehouse sessions (settlement_model.warehouse, on ADBC's driver manager
directly) against the real server: the session's settings, bind parameters, reads streamed and
whole, bulk ingestion and row counts, inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import uuid
from pathlib import Path

import pyarrow as pa
import pytest
from settlement_model import warehouse

from tests.integration.conftest import Warehouse

MODEL_POD = Path(__file__).resolve().parents[3] / "model_pod"


def test_a_session_has_the_jobs_settings_and_binds_each_parameter_type(scratch_warehouse: Warehouse) -> None:
    with warehouse.connect(scratch_warehouse.writer) as conn:
        settings = warehouse.fetch_all(
            conn,
            "SELECT current_setting('application_name'), current_setting('statement_timeout'), "
            "current_setting('work_mem'), current_setting('max_parallel_workers_per_gather')",
        )
        bound = warehouse.fetch_all(
            conn,
            "SELECT $1::text, $2::text, $3::bigint + 1, $4::date + 1, $5::float8 * 2, NOT $6::boolean",
            ("plain", "naïve ü", 41, dt.date(2026, 11, 30), 1.25, False),
        )
    assert settings == [(warehouse.APPLICATION_NAME, warehouse.STATEMENT_TIMEOUT, warehouse.WORK_MEM, "0")]
    assert bound == [("plain", "naïve ü", 42, dt.date(2026, 12, 1), 2.5, True)]


def test_reads_stream_in_batches_and_an_empty_result_keeps_its_columns(scratch_warehouse: Warehouse) -> None:
    with warehouse.connect(scratch_warehouse.reader) as conn:
        batches = list(
            warehouse.stream(
                conn, "SELECT n, md5(n::text) AS digest FROM generate_series(1, 200000) AS n", 1 << 20
            )
        )
        empty = warehouse.fetch_table(conn, "SELECT 1::int AS n, 'x'::text AS label WHERE false")
    assert len(batches) > 1  # bounded batches, not the whole result at once
    assert sum(batch.num_rows for batch in batches) == 200_000
    assert [batch.column("n")[0].as_py() for batch in batches[:1]] == [1]
    assert empty.num_rows == 0
    assert empty.column_names == ["n", "label"]
    assert [field.type for field in empty.schema] == [pa.int32(), pa.string()]


def test_ingest_counts_and_the_transaction_decides_what_stays(scratch_warehouse: Warehouse) -> None:
    table = f"pytest_sessions_{uuid.uuid4().hex[:8]}"
    rows = pa.table({"trade_id": ["T1", "T2", "T3"], "score": [0.1, 0.5, 0.9]})
    create = f'CREATE TABLE {warehouse.STAGING_SCHEMA}."{table}" (trade_id text PRIMARY KEY, score float8)'
    count = f'SELECT count(*) FROM {warehouse.STAGING_SCHEMA}."{table}"'
    with warehouse.connect(scratch_warehouse.writer) as conn:
        warehouse.execute(conn, create)
        conn.commit()
        try:
            assert warehouse.ingest(conn, table, rows, schema=warehouse.STAGING_SCHEMA) == 3  # a table
            extra = pa.record_batch({"trade_id": ["T4"], "score": [0.2]})
            assert warehouse.ingest(conn, table, extra, schema=warehouse.STAGING_SCHEMA) == 1  # a batch
            deleted = conn.update(f'DELETE FROM {warehouse.STAGING_SCHEMA}."{table}" WHERE score > 0.3')
            assert deleted == 2
            assert warehouse.fetch_all(conn, count) == [(2,)]
            conn.rollback()  # nothing of the transaction stays
            assert warehouse.fetch_all(conn, count) == [(0,)]
        finally:
            conn.rollback()
            warehouse.execute(conn, f'DROP TABLE {warehouse.STAGING_SCHEMA}."{table}"')
            conn.commit()


def test_a_failure_in_the_middle_of_a_read_reaches_the_caller_as_it_is(scratch_warehouse: Warehouse) -> None:
    """A read abandoned by an error (its generator paused, its statement open) is closed with
    the session: the caller sees its own error, not one of the closing."""

    def read_one_batch_then_fail() -> None:
        with warehouse.connect(scratch_warehouse.reader) as conn:
            batches = warehouse.stream(conn, "SELECT n FROM generate_series(1, 500000) AS n", 1 << 16)
            assert next(batches).num_rows > 0
            raise ValueError("scoring failed")  # the read is still open: its generator is paused

    with pytest.raises(ValueError, match="scoring failed"):
        read_one_batch_then_fail()


OPEN_AND_READ = """
import sys
import datetime as dt
from settlement_model import features, warehouse
with warehouse.connect(sys.argv[1]) as conn:
    warehouse.set_parameters(conn, features.feature_parameters([dt.date(2026, 11, 2)], 0, 1))
    assert warehouse.table_exists(conn, "ops", "trades")
    batches = warehouse.stream(conn, "SELECT n FROM generate_series(1, 1000) AS n")
    assert sum(batch.num_rows for batch in batches) == 1000
heavy = ("pandas", "pyarrow.dataset", "adbc_driver_manager.dbapi")
print(sorted(name for name in heavy if name in sys.modules))
"""


def test_a_session_opened_and_read_from_imports_neither_adbcs_db_api_nor_pandas(
    scratch_warehouse: Warehouse,
) -> None:
    """Every job opens its sessions and sets them up before its first query: pandas (0.3 s,
    through ADBC's DB-API module or pyarrow's conversion of Python values) would come first."""
    completed = subprocess.run(
        [sys.executable, "-c", OPEN_AND_READ, scratch_warehouse.reader],
        cwd=MODEL_POD,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"
