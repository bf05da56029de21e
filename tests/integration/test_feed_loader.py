"""The feed's loader on a real PostgreSQL (a seeded scratch warehouse): every validation rule
quarantines its bad row and leaves the good rows untouched, reruns are idempotent, a mostly
bad file is refused, and reseeding a day changes nothing."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from include.markets_ops.feed import loader, sources
from include.markets_ops.feed.landing import csv_bytes
from include.markets_ops.services.sql_files import read_sql
from include.markets_ops.synthetic import daily, reference, seed
from include.markets_ops.synthetic.bookings import BookingsCache
from tests.integration.conftest import SCRATCH_CONFIG, SCRATCH_DAYS, Warehouse

SEEDED = seed.business_dates(SCRATCH_CONFIG.epoch, SCRATCH_DAYS)
NEW_DAY = seed.business_dates(SEEDED[-1], 2)[1]  # the first day after the seeded history
GOOD_ROWS = 40
Row = dict[str, str]


def _rows(table) -> list[Row]:  # type: ignore[no-untyped-def]
    return list(csv.DictReader(io.StringIO(csv_bytes(table).decode())))


def _csv(source: sources.Source, rows: list[Row | dict[str, None]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=source.columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def new_transaction_id(writer: Any) -> int:
    """A transaction id assigned now (committed at once): those of later transactions are larger."""
    with writer.transaction():
        return writer.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()[0]


def recorded_load(
    warehouse: Warehouse, source: str, day: dt.date
) -> tuple[tuple[int, ...], str, bool, int] | None:
    """ops.feed_loads' row of the source and date: (received, loaded, quarantined), run, upserted,
    transaction."""
    with warehouse.connect("reader") as reader:
        row = reader.execute(
            "SELECT received_rows, loaded_rows, quarantined_rows, dag_run_id, upserted, load_xact_id "
            "FROM ops.feed_loads WHERE source = %s AND business_date = %s",
            (source, day),
        ).fetchone()
    return None if row is None else (tuple(row[:3]), row[3], row[4], row[5])


@pytest.fixture(scope="module")
def new_day() -> daily.DayData:
    return daily.build_day(SCRATCH_CONFIG, NEW_DAY, BookingsCache(SCRATCH_CONFIG))


def good_rows(name: str, day: daily.DayData) -> list[Row]:
    if name in {s.name for s in sources.REFERENCE_SOURCES}:
        return _rows(reference.ops_tables(SCRATCH_CONFIG)[name])[:GOOD_ROWS]
    rows = _rows(getattr(day, name))
    if name == "settlement_outcomes":  # events of trades already loaded (booked before today)
        rows = [
            r for r in rows if SEEDED[1].strftime("%Y%m%d") <= r["trade_id"][1:9] < NEW_DAY.strftime("%Y%m%d")
        ]
    return rows[:GOOD_ROWS]


def _set(**changes: str | None) -> Callable[[Row], Row]:
    return lambda row: {**row, **changes}


YESTERDAY = (NEW_DAY - dt.timedelta(days=1)).isoformat()
# source -> rule -> how to break a good row (key column replaced by a fresh key unless the rule is about it)
BREAKERS: dict[str, dict[str, Callable[[Row], Row]]] = {
    "trades": {
        "malformed_value": _set(quantity="12,5"),
        "business_date_mismatch": _set(business_date=YESTERDAY),
        "quantity_not_positive": _set(quantity="0"),
        "price_not_positive": _set(price="-1.5"),
        "currency_unknown": _set(currency="ZZZ"),
        "counterparty_unknown": _set(counterparty_id="CP99999"),
        "instrument_unknown": _set(instrument_id="XX0000000000"),
        "settle_date_before_trade_date": lambda r: {
            **r,
            "settle_date": YESTERDAY,
            "trade_date": r["business_date"],
        },
        "settlement_cycle_too_long": lambda r: {
            **r,
            "trade_date": r["business_date"],
            "settle_date": (NEW_DAY + dt.timedelta(days=32)).isoformat(),
        },
        "trade_date_after_business_date": lambda r: {
            **r,
            "trade_date": (NEW_DAY + dt.timedelta(days=1)).isoformat(),
            "settle_date": (NEW_DAY + dt.timedelta(days=3)).isoformat(),
        },
        "value_not_allowed": _set(side="HOLD"),
    },
    "custodian_confirmations": {
        "malformed_value": _set(received_at="yesterday evening"),
        "business_date_mismatch": _set(business_date=YESTERDAY),
        "quantity_not_positive": _set(quantity="-100.0000"),
        "price_not_positive": _set(price="0"),
        "counterparty_unknown": _set(counterparty_id="CP99999"),
        "value_not_allowed": _set(side="X"),
    },
    "settlement_outcomes": {
        "malformed_value": _set(days_late="two"),
        "business_date_mismatch": _set(business_date=YESTERDAY),
        "trade_unknown": lambda r: r,  # its fresh key names no trade
        "value_not_allowed": _set(outcome="lost"),
        "outcome_inconsistent": _set(outcome="failed", settled_date="", fail_reason=""),
        # its key names a trade that settled on a seeded day (FRESH_KEYS)
        "failed_after_settlement": _set(outcome="failed", settled_date="", fail_reason="securities_shortage"),
    },
    "currencies": {"malformed_value": _set(minor_units="two")},
    "counterparties": {"malformed_value": _set(lei="not-a-lei")},
    "instruments": {
        "malformed_value": _set(settlement_cycle_days="T+1"),
        "currency_unknown": _set(currency="ZZZ"),
        "value_not_allowed": _set(liquidity_tier="7"),
    },
    "settlement_instructions": {
        "malformed_value": _set(custodian_bic="??"),
        "counterparty_unknown": _set(counterparty_id="CP99999"),
        "currency_unknown": _set(currency="ZZZ"),
    },
}


def _known_trade(number: int, rule: str) -> str:
    """An outcome's key must name a booked trade unless trade_unknown is the rule under test."""
    if rule == "trade_unknown":
        return f"TUNKNOWN{number:02d}"
    return f"T{SEEDED[0]:%Y%m%d}{3000 + number:07d}"  # booked on the first seeded day


# Keys that pass the earlier checks of their source, so the row breaks only its rule.
FRESH_KEYS: dict[str, Callable[[int, str], str]] = {
    "currencies": lambda n, rule: "QQ" + chr(64 + n),
    "instruments": lambda n, rule: f"ZZ{n:09d}0",
    "settlement_outcomes": _known_trade,
}


def crafted_file(source: sources.Source, day: daily.DayData) -> tuple[list[Row], list[Row], dict[str, str]]:
    """Good rows, then one bad row per rule; returns (good, all rows, expected record_key -> rule)."""
    good = good_rows(source.name, day)
    key = source.key_column
    rows: list[Row] = list(good)
    expected: dict[str, str] = {}
    for number, rule in enumerate(source.rules, start=1):
        template = good[number % len(good)]
        if rule.endswith("_missing"):
            rows.append({**template, key: ""})
            expected[f"line:{len(rows)}"] = rule
        elif rule.endswith("_duplicated"):
            rows.append(dict(good[0]))  # the first occurrence (a good row) stays
            expected_key = good[0][key]
            expected[expected_key] = rule
        else:
            if source.name in FRESH_KEYS:
                fresh_key = FRESH_KEYS[source.name](number, rule)
            else:
                fresh_key = f"{template[key][:14]}-BAD{number:02d}"
            rows.append(BREAKERS[source.name][rule]({**template, key: fresh_key}))
            expected[fresh_key] = rule
    return good, rows, expected


def quarantined(warehouse: Warehouse, source: str) -> list[tuple]:
    with warehouse.connect("reader") as reader:
        return reader.execute(
            "SELECT record_key, rule, raw_record FROM reporting.quarantine "
            "WHERE business_date = %s AND source = %s ORDER BY quarantine_id",
            (NEW_DAY, source),
        ).fetchall()


def fingerprint(warehouse: Warehouse, table: str, where: str = "true") -> tuple[int, str]:
    assert table in {f"ops.{name}" for name in sources.SOURCES} | {"reporting.quarantine"}
    with warehouse.connect("owner") as owner:
        count, digest = owner.execute(
            f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t WHERE {where}"
        ).fetchone()
    return count, digest


# Reference data first, then trades before the outcomes that may reference them.
LOAD_ORDER = [s.name for s in sources.REFERENCE_SOURCES + sources.DAILY_SOURCES]


@pytest.mark.parametrize("name", LOAD_ORDER)
def test_each_rule_quarantines_its_bad_row_and_good_rows_load_untouched(
    seeded_scratch_warehouse: Warehouse, new_day: daily.DayData, name: str
) -> None:
    source = sources.source(name)
    assert set(BREAKERS[name]) | {r for r in source.rules if r.endswith(("_missing", "_duplicated"))} == set(
        source.rules
    )
    good, rows, expected = crafted_file(source, new_day)
    with seeded_scratch_warehouse.connect("writer") as writer:
        report = loader.load_file(
            writer, source, NEW_DAY, lambda: [_csv(source, rows)], dag_run_id="test", max_bad_share=0.5
        )

    assert report.received == len(rows)
    assert report.quarantined_by_rule() == dict.fromkeys(source.rules, 1)
    assert report.loaded == len(good)
    recorded = quarantined(seeded_scratch_warehouse, name)
    assert {key: rule for key, rule, _ in recorded} == expected
    for key, rule, raw in recorded:  # the row is kept whole, as received (text values)
        assert set(raw) == set(source.columns), rule
        named = None if key.startswith("line:") else key  # a row without a key is named by its line
        assert (raw[source.key_column] or None) == named, rule  # its own line's values
    # Good rows are loaded exactly as sent (timestamps aside: their text form differs).
    compared = [c for c in source.columns if not c.endswith("_at")]
    selected = ", ".join(f"{column}::text" for column in compared)
    day_filter = "AND business_date = %s" if source.daily else "AND %s IS NOT NULL"
    with seeded_scratch_warehouse.connect("reader") as reader:
        loaded = reader.execute(
            f"SELECT {selected} FROM {source.target_table} WHERE {source.key_column} = ANY(%s) {day_filter}",
            ([row[source.key_column] for row in good], NEW_DAY),
        ).fetchall()
    sent = {tuple(row[c] or None for c in compared) for row in good}
    assert set(loaded) == sent


def test_a_custodians_statement_quarantines_the_rows_of_another_custodian_with_their_values(
    seeded_scratch_warehouse: Warehouse, new_day: daily.DayData
) -> None:
    """check_custodian.sql, the statement's extra rule: after check.sql, one rule per row."""
    source = sources.CUSTODIAN_STATEMENT
    rows = _rows(new_day.custodian_confirmations)
    custodian = rows[0]["custodian"]
    own = [r for r in rows if r["custodian"] == custodian][:GOOD_ROWS]
    mismatched, also_bad = [r for r in rows if r["custodian"] != custodian][:2]
    also_bad = {**also_bad, "side": "X"}  # an earlier rule names it
    with seeded_scratch_warehouse.connect("writer") as writer, writer.transaction(force_rollback=True):
        report = loader.load_file(
            writer,
            source,
            NEW_DAY,
            lambda: [_csv(source, [*own, mismatched, also_bad])],
            dag_run_id="test",
            scope={"custodian": custodian, "source": "statement/TEST"},
            max_bad_share=0.5,
        )
        recorded = writer.execute(
            "SELECT record_key, rule, raw_record FROM reporting.quarantine "
            "WHERE business_date = %s AND source = 'statement/TEST' ORDER BY quarantine_id",
            (NEW_DAY,),
        ).fetchall()
    assert report.quarantined_by_rule() == {"custodian_mismatch": 1, "value_not_allowed": 1}
    assert report.loaded == len(own)
    assert [(key, rule) for key, rule, _ in recorded] == [
        (mismatched["trade_ref"], "custodian_mismatch"),
        (also_bad["trade_ref"], "value_not_allowed"),
    ]
    assert recorded[0][2]["custodian"] == mismatched["custodian"]
    assert recorded[1][2]["side"] == "X"


@pytest.mark.parametrize("name", LOAD_ORDER)
def test_a_rerun_gives_the_same_rows_and_does_not_duplicate_the_quarantine(
    seeded_scratch_warehouse: Warehouse, new_day: daily.DayData, name: str
) -> None:
    source = sources.source(name)
    _, rows, expected = crafted_file(source, new_day)
    where = f"business_date = '{NEW_DAY}'" if source.daily else "true"
    for attempt in range(2):
        with seeded_scratch_warehouse.connect("writer") as writer:
            before = new_transaction_id(writer)
            report = loader.load_file(
                writer,
                source,
                NEW_DAY,
                lambda: [_csv(source, rows)],
                dag_run_id=f"run-{attempt}",
                max_bad_share=0.5,
            )
            after = new_transaction_id(writer)
        # Each load is recorded as the date's last of its source, by its own transaction; a rerun
        # says whether it rewrote loaded rows by upsert (they may be of any date) or replaced the
        # date's own (delete + COPY).
        (counts, run, upserted, transaction_id) = recorded_load(seeded_scratch_warehouse, name, NEW_DAY)
        assert (counts, run) == ((report.received, report.loaded, report.quarantined), f"run-{attempt}")
        assert upserted == report.upserted
        assert before < transaction_id < after
        state = (
            fingerprint(seeded_scratch_warehouse, source.target_table, where),
            sorted((key, rule) for key, rule, _ in quarantined(seeded_scratch_warehouse, name)),
        )
        if attempt == 0:
            first = state
    assert state == first
    assert len(state[1]) == len(expected)
    # The rerun: trades and reference data by upsert; a date's statement and outcomes replaced.
    assert report.upserted == (name not in {"custodian_confirmations", "settlement_outcomes"})


def test_a_mostly_bad_file_is_refused_with_rule_count_and_example(
    seeded_scratch_warehouse: Warehouse, new_day: daily.DayData
) -> None:
    source = sources.TRADES
    later_day = seed.business_dates(NEW_DAY, 2)[1]
    good = [{**r, "business_date": later_day.isoformat()} for r in good_rows("trades", new_day)[:10]]
    good = [{**r, "trade_id": "X" + r["trade_id"][1:]} for r in good]
    bad = [{**r, "trade_id": r["trade_id"] + "-Q", "currency": "ZZZ"} for r in good[:5]]
    before = fingerprint(seeded_scratch_warehouse, "ops.trades")
    with (
        seeded_scratch_warehouse.connect("writer") as writer,
        pytest.raises(loader.TooManyBadRowsError) as raised,
    ):
        loader.load_file(writer, source, later_day, lambda: [_csv(source, good + bad)], max_bad_share=0.05)
    message = str(raised.value)
    assert "5 of 15 rows" in message
    assert "currency_unknown: 5 row(s)" in message
    assert good[0]["trade_id"] + "-Q" in message  # the example
    assert fingerprint(seeded_scratch_warehouse, "ops.trades") == before  # nothing merged
    with seeded_scratch_warehouse.connect("reader") as reader:
        (count,) = reader.execute(
            "SELECT count(*) FROM reporting.quarantine WHERE business_date = %s AND source = 'trades'",
            (later_day,),
        ).fetchone()
    assert count == 5  # but the rejected rows are kept for triage
    assert recorded_load(seeded_scratch_warehouse, "trades", later_day) is None  # no load of the date


def test_reseeding_a_day_changes_nothing(seeded_scratch_warehouse: Warehouse) -> None:
    day = SEEDED[7]
    tables_to_compare = ["ops.trades", "ops.custodian_confirmations", "ops.settlement_outcomes"]
    before = {table: fingerprint(seeded_scratch_warehouse, table) for table in tables_to_compare}
    with seeded_scratch_warehouse.connect("reader") as reader:
        # A trade that failed on this day and settled later: reloading the day must not
        # send its status back to 'failed'.
        settled_later = reader.execute(
            "SELECT f.trade_id FROM ops.settlement_outcomes f "
            "JOIN ops.settlement_outcomes s USING (trade_id) "
            "WHERE f.business_date = %s AND f.outcome = 'failed' AND s.business_date > f.business_date "
            "LIMIT 1",
            (day,),
        ).fetchone()
    assert settled_later is not None
    with (
        seeded_scratch_warehouse.connect("writer") as writer,
        seeded_scratch_warehouse.connect("upstream") as upstream,
    ):
        seed.seed_history(writer, upstream, SCRATCH_CONFIG, [day], progress=lambda line: None)
    assert {table: fingerprint(seeded_scratch_warehouse, table) for table in tables_to_compare} == before
    with seeded_scratch_warehouse.connect("reader") as reader:
        (status,) = reader.execute(
            "SELECT status FROM ops.trades WHERE trade_id = %s", settled_later
        ).fetchone()
    assert status == "settled"


def test_a_load_runs_bounded_and_without_jit_inside_its_transaction_only(
    seeded_scratch_warehouse: Warehouse, new_day: daily.DayData
) -> None:
    """prepare_load.sql's settings hold while the rows are merged, and end with the load."""
    source = sources.CURRENCIES
    good = good_rows(source.name, new_day)
    seen: list[tuple[str, str, str]] = []

    def settings(cursor: Any) -> tuple[str, str, str]:
        names = ("jit", "statement_timeout", "search_path")
        cursor.execute("SELECT current_setting(%s), current_setting(%s), current_setting(%s)", names)
        return cursor.fetchone()

    with seeded_scratch_warehouse.connect("writer") as writer:
        with writer.cursor() as cursor:
            before = settings(cursor)
        writer.commit()
        loader.load_file(
            writer,
            source,
            NEW_DAY,
            lambda: [_csv(source, good)],
            statement_timeout="47s",
            after_merge=lambda cursor, _report: seen.append(settings(cursor)),
        )
        with writer.cursor() as cursor:
            after = settings(cursor)
    assert seen == [("off", "47s", "staging")]
    assert after == before
    assert before[0] == "on"  # the server's default, which the load switched off for itself


# --------------------------------------------------------------------------- copied straight

# A date no other test loads: a clean trades file of it finds the date empty in the target.
STRAIGHT_DAY = seed.business_dates(NEW_DAY, 3)[2]
# What a daily load writes: its target; the outcomes also each trade's status and the
# counterparties' record of the day.
WRITTEN_BY = {
    "trades": ("ops.trades",),
    "custodian_confirmations": ("ops.custodian_confirmations",),
    "settlement_outcomes": ("ops.settlement_outcomes", "ops.trades", "ops.counterparty_settlement_days"),
}
DAILY = [source.name for source in sources.DAILY_SOURCES]
CLEAN_ROWS = GOOD_ROWS - 10


def clean_file(name: str, day: daily.DayData) -> tuple[dt.date, list[Row]]:
    """A clean file of the source and its date (the trades': new trades of STRAIGHT_DAY). Fewer
    rows than the crafted files of the tests above, which may have loaded the same date: this
    file's load then still changes the date."""
    rows = good_rows(name, day)[:CLEAN_ROWS]
    if name != "trades":
        return NEW_DAY, rows
    return STRAIGHT_DAY, [
        {**row, "business_date": STRAIGHT_DAY.isoformat(), "trade_id": "S" + row["trade_id"][1:]}
        for row in rows
    ]


# The load's own records, but for what differs between any two loads (ids, times, transactions).
BOOKKEEPING = {
    "ops.feed_loads": (
        "(t.source, t.business_date, t.received_rows, t.loaded_rows, t.quarantined_rows, t.upserted, "
        "t.dag_run_id)"
    ),
    "reporting.quarantine": "(t.business_date, t.source, t.rule, t.record_key, t.raw_record, t.dag_run_id)",
}


def written_state(connection: Any, name: str) -> dict[str, tuple[int, str]]:
    """Each table the source's load writes, as ``connection`` sees it (uncommitted rows too)."""
    rows = dict.fromkeys(WRITTEN_BY[name], "t") | BOOKKEEPING
    return {
        table: connection.execute(
            f"SELECT count(*), md5(string_agg({row}::text, '|' ORDER BY {row}::text)) FROM {table} t"
        ).fetchone()
        for table, row in rows.items()
    }


def latest_load_quarantined(connection: Any, name: str, rows: int) -> None:
    """Make the source's loads look as if they had quarantined ``rows`` (the tests above leave
    quarantined rows: their files break every rule), in the caller's rolled-back transaction."""
    connection.execute("UPDATE ops.feed_loads SET quarantined_rows = %s WHERE source = %s", (rows, name))


@contextmanager
def loading_after(
    warehouse: Warehouse, caplog: pytest.LogCaptureFixture, name: str, quarantined: int
) -> Iterator[Any]:
    """The writer, in a transaction rolled back at the end, after a load of ``name`` that
    quarantined ``quarantined`` rows; the loader's log captured."""
    with (
        warehouse.connect("writer") as writer,
        writer.transaction(force_rollback=True),
        caplog.at_level("INFO", logger=loader.__name__),
    ):
        latest_load_quarantined(writer, name, quarantined)
        yield writer


def test_only_daily_sources_whose_date_is_the_files_are_copied_straight() -> None:
    assert [s.name for s in sources.SOURCES.values() if s.copied_straight] == DAILY
    assert not sources.CUSTODIAN_STATEMENT.copied_straight  # the date keeps other custodians' rows


def _as_formatted(work_type: str) -> str:
    """A work table's type (sources.WORK_TABLE_TYPE) as PostgreSQL's format_type writes it."""
    for short, formatted in (("varchar", "character varying"), ("timestamptz", "timestamp with time zone")):
        work_type = work_type.replace(short, formatted)
    return work_type.replace(", ", ",")


@pytest.mark.parametrize("name", DAILY)
def test_the_targets_refuse_what_the_work_table_refuses(
    seeded_scratch_warehouse: Warehouse, name: str
) -> None:
    """A value the work table refuses (too long, another scale) would be changed or kept by a
    looser target: each target column is of the work table's type, or varchar where the work
    table has text (a value too long is refused, unless its excess is spaces, which varchar
    cuts: the loader sends a file with a value ending in a space through the work table; see
    the tests below). No deferred constraint, no trigger: every refusal comes during the COPY,
    inside its savepoint."""
    source = sources.source(name)
    with seeded_scratch_warehouse.connect("owner") as owner:
        types = dict(
            owner.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                (source.target_table,),
            ).fetchall()
        )
        deferred_or_triggered = owner.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %(t)s::regclass AND condeferrable "
            "UNION ALL SELECT tgname FROM pg_trigger WHERE tgrelid = %(t)s::regclass AND NOT tgisinternal",
            {"t": source.target_table},
        ).fetchall()
    for column, work_type in source.column_types.items():
        target_type = types[column]
        assert target_type == _as_formatted(work_type) or (
            work_type == "text" and target_type.startswith("character varying(")
        ), (column, work_type, target_type)
    assert deferred_or_triggered == []


@pytest.mark.parametrize("name", DAILY)
def test_a_clean_daily_file_is_copied_straight_and_writes_what_the_work_table_writes(
    seeded_scratch_warehouse: Warehouse, new_day: daily.DayData, name: str
) -> None:
    source = sources.source(name)
    day, rows = clean_file(name, new_day)
    with seeded_scratch_warehouse.connect("writer") as writer:
        before = written_state(writer, name)
    states, reports = {}, {}
    for straight in (True, False):  # each load rolled back: both start from the same warehouse
        with seeded_scratch_warehouse.connect("writer") as writer, writer.transaction(force_rollback=True):
            latest_load_quarantined(writer, name, 0)
            report = loader.load_file(
                writer,
                dataclasses.replace(source, copied_straight=straight),
                day,
                lambda: [_csv(source, rows)],
                dag_run_id="test",
            )
            states[straight], reports[straight] = written_state(writer, name), report.as_dict()
    assert reports[True].pop("copied_straight") is True
    assert reports[False].pop("copied_straight") is False
    assert reports[True] == reports[False]
    assert reports[True]["loaded"] == reports[True]["written"] == len(rows)
    assert states[True] == states[False] != before


def _refused_row(name: str, rule: str, template: Row, day: dt.date) -> Row:
    """A row of the clean file's shape that breaks ``rule`` only."""
    if name == "trades":
        key = {"trade_id": f"S{day:%Y%m%d}-BAD"}
        if rule == "malformed_value":  # NaN: a numeric, and larger than 0 for PostgreSQL's checks
            return {**template, **key, "quantity": "NaN"}
        if rule == "value_not_allowed":  # varchar(4) would cut it to SELL
            return {**template, **key, "side": "SELL "}
        if rule == "currency_unknown":  # varchar(3) would cut it to a known currency
            return {**template, **key, "currency": template["currency"] + " "}
        if rule == "business_date_mismatch":
            return {**template, **key, "business_date": NEW_DAY.isoformat()}
    if name == "settlement_outcomes":  # a trade booked on the first seeded day, settled since
        return BREAKERS[name][rule]({**template, "trade_id": _known_trade(1, rule)})
    return BREAKERS[name][rule]({**template, source_key(name): f"{template[source_key(name)][:14]}-BAD"})


def source_key(name: str) -> str:
    return sources.source(name).key_column


# (source, rule, why the straight copy gives the file up)
REFUSED_STRAIGHT = [
    ("trades", "malformed_value", "1 row(s) break its rules"),  # no constraint refuses it: check.sql does
    ("trades", "business_date_mismatch", "1 row(s) of another business date"),  # copied elsewhere
    ("trades", "counterparty_unknown", "foreign key"),  # the target's key refuses the COPY
    # values that end in a space: the target's varchar would cut them to allowed ones
    ("trades", "value_not_allowed", "a value ends in a space"),
    ("trades", "currency_unknown", "a value ends in a space"),
    ("custodian_confirmations", "quantity_not_positive", "1 row(s) break its rules"),
    ("custodian_confirmations", "malformed_value", "invalid input syntax"),  # the COPY's parse refuses it
    ("settlement_outcomes", "failed_after_settlement", "1 row(s) break its rules"),
    # check.sql does not look the trade up for rows copied straight: the target's key refuses it
    ("settlement_outcomes", "trade_unknown", "foreign key"),
]


@pytest.mark.parametrize("refusal", REFUSED_STRAIGHT, ids=lambda refusal: f"{refusal[0]}-{refusal[1]}")
def test_a_file_with_a_bad_row_is_not_copied_straight_and_the_work_table_quarantines_the_row(
    seeded_scratch_warehouse: Warehouse,
    new_day: daily.DayData,
    caplog: pytest.LogCaptureFixture,
    refusal: tuple[str, str, str],
) -> None:
    name, rule, reason = refusal
    source = sources.source(name)
    day, good = clean_file(name, new_day)
    bad = _refused_row(name, rule, good[3], day)
    rows = [*good[:10], bad, *good[10:]]
    key = bad[source.key_column]
    with loading_after(seeded_scratch_warehouse, caplog, name, quarantined=0) as writer:
        # A chunk per line: a refusal mid-file comes after rows were sent (the COPY is cancelled).
        lines = _csv(source, rows).splitlines(keepends=True)
        report = loader.load_file(writer, source, day, lambda: lines, max_bad_share=0.5)
        recorded = writer.execute(
            "SELECT record_key, rule FROM reporting.quarantine WHERE business_date = %s AND source = %s",
            (day, name),
        ).fetchall()
        (copied,) = writer.execute(
            f"SELECT count(*) FROM {source.target_table} "
            f"WHERE {source.key_column} = %s AND business_date = %s",
            (key, bad["business_date"]),
        ).fetchone()
    assert f"not copied straight into {source.target_table}" in caplog.text
    assert reason in caplog.text
    assert not report.copied_straight
    assert report.quarantined_by_rule() == {rule: 1}
    assert report.loaded == len(good)
    assert recorded == [(key, rule)]
    assert copied == 0  # the attempt's copy of the bad row was rolled back


def _plan_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node.get("Plans", []) for n in _plan_nodes(child))]


def test_the_outcome_check_reads_ops_trades_only_for_rows_not_copied_straight(
    seeded_scratch_warehouse: Warehouse, new_day: daily.DayData
) -> None:
    """For rows copied straight, the target's foreign key found their trades already: no scan of
    ops.trades runs. The work table's rows are looked up."""
    source = sources.source("settlement_outcomes")
    day, rows = clean_file(source.name, new_day)
    parameters = {
        "business_date": day,
        "source": source.name,
        "dag_run_id": "test",
        "statement_timeout": "1min",
    }
    loops = {}
    with (
        seeded_scratch_warehouse.connect("writer") as writer,
        writer.transaction(force_rollback=True),
        writer.cursor() as cursor,
    ):
        cursor.execute(read_sql("feed/prepare_load.sql"), parameters)
        cursor.execute(read_sql("feed/create_rejected_rows.sql"))
        cursor.execute(source.sql("land.sql"))
        loader._copy(cursor, source.sql("copy.sql"), [_csv(source, rows)])
        for straight in (True, False):
            (plan,) = cursor.execute(
                "EXPLAIN (ANALYZE, FORMAT JSON) " + source.sql("check.sql"),
                {**parameters, "copied_straight": straight},
            ).fetchone()
            nodes = _plan_nodes(plan[0]["Plan"])
            loops[straight] = [n["Actual Loops"] for n in nodes if n.get("Relation Name") == "trades"]
    assert not any(loops[True])  # not planned, or never run
    assert any(loops[False])


@pytest.mark.parametrize("name", DAILY)
def test_a_file_with_a_duplicated_key_is_not_copied_straight_and_the_second_row_is_quarantined(
    seeded_scratch_warehouse: Warehouse,
    new_day: daily.DayData,
    caplog: pytest.LogCaptureFixture,
    name: str,
) -> None:
    """check.sql does not look for duplicates among rows copied straight: the target's primary
    key refuses the COPY, and the work table's rule names the later row."""
    source = sources.source(name)
    day, good = clean_file(name, new_day)
    with loading_after(seeded_scratch_warehouse, caplog, name, quarantined=0) as writer:
        report = loader.load_file(
            writer, source, day, lambda: [_csv(source, [*good, good[3]])], max_bad_share=0.5
        )
    assert "duplicate key value violates unique constraint" in caplog.text
    assert not report.copied_straight
    assert report.quarantined_by_rule() == {f"{source_key(name)}_duplicated": 1}
    assert report.loaded == len(good)


@pytest.mark.parametrize("name", DAILY)
def test_after_a_file_with_bad_rows_the_next_goes_through_the_work_table_at_once(
    seeded_scratch_warehouse: Warehouse,
    new_day: daily.DayData,
    caplog: pytest.LogCaptureFixture,
    name: str,
) -> None:
    """A feed that keeps sending bad rows would pay for a failed straight COPY with every file."""
    source = sources.source(name)
    day, rows = clean_file(name, new_day)
    with loading_after(seeded_scratch_warehouse, caplog, name, quarantined=3) as writer:
        report = loader.load_file(writer, source, day, lambda: [_csv(source, rows)])
    assert "the source's latest file had rows quarantined); through the work table" in caplog.text
    assert not report.copied_straight
    assert (report.loaded, report.quarantined) == (len(rows), 0)
