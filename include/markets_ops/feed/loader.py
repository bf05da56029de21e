"""Loading one upstream file: COPY into a work table, validate in SQL, quarantine, merge.

All in one transaction per file, with work tables in the staging schema that are dropped
before it ends (include/sql/feed/prepare_load.sql).

A daily source's file is first tried straight into its target (``Source.copied_straight``,
``_copy_straight``), in a savepoint: the steps that replace the date's rows, one COPY of the
file into the target, the same check.sql over the rows just copied (read back as the work
table, land_from_target.sql), the merge steps after the copy. That is a clean file's whole
load: a plain COPY, the rows read back once and checked. If the target refuses a value or a
row (a type, a key, a foreign key), a value ends in a space (which varchar would cut), the
date held rows already, or a rule rejects a row, the savepoint is rolled back and the file is
loaded as below, which quarantines the bad rows with their line numbers: the rules are the
same SQL both ways, except those the target's keys enforced already (a duplicate key, an
outcome's unknown trade), which check.sql skips for rows copied straight. A file with bad
rows pays for the attempt, so the attempt is made only when the source's latest file was
clean (latest_load_was_clean.sql): a feed that keeps sending bad rows goes through the work
table.

Through the work table:
  1. land.sql + copy.sql   the file streamed with COPY into a work table with the target's
     types (chunks from S3 or memory: bounded memory). If a value cannot be parsed, that COPY
     is rolled back to a savepoint and the file is read again as text (land_text.sql,
     copy_text.sql): check_text.sql rejects the malformed rows as malformed_value and
     typed_from_text.sql casts the rest into the typed work table. Parsing in COPY keeps the
     common case fast; the text path keeps a bad value from failing the whole file.
  2. check.sql  the validation rules, each a named check; rejected rows with their first rule
  3. the date's quarantined rows of this source are replaced by this run's
  4. the merge steps: good rows into ops.*, idempotently (a rerun gives the same rows); the
     rows go in with COPY (copy_out.sql + copy_in.sql), not INSERT ... SELECT, which writes
     row by row: a first load is as fast as a plain COPY, a rerun falls back to an upsert.
  5. the load recorded in ops.feed_loads (record_load.sql): the date's last merged file of
     the source, with its transaction id.
If the rejected share exceeds ``max_bad_share`` the quarantine is still recorded (so the
rows can be inspected) but nothing is merged, and TooManyBadRowsError is raised after commit.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from include.markets_ops.errors import BadInputError
from include.markets_ops.feed.sources import COPY_GOOD_ROWS, Source
from include.markets_ops.services.sql_files import read_sql

log = logging.getLogger(__name__)

DEFAULT_MAX_BAD_SHARE = 0.05
DEFAULT_STATEMENT_TIMEOUT = "15min"
# The good rows between COPY out and COPY in: beyond this, a temp file (in the page cache). Small,
# so a load task's memory stays flat as the volume grows (64 MiB made the outcomes' load grow 21%
# from 250k to 1M trades a day in `python -m benchmarks night`; with 16 MiB, `benchmarks loading`
# still loads at 58% of a plain COPY, as with 64).
SPOOL_MEMORY_BYTES = 16 << 20
COPY_CHUNK_BYTES = 1 << 20
# A space, then what ends a CSV value with copy_straight.sql's delimiter and quote (PostgreSQL's
# defaults); see _refusing_trailing_spaces. One regular expression scans a 66 MB trades file in
# 0.03 s, four bytes.find in 0.25 s.
SPACE_BEFORE_A_VALUE_ENDS = re.compile(rb' [,"\r\n]')


@dataclass
class RuleCount:
    rule: str
    rejected: int
    example_key: str
    example_row: dict[str, Any]


@dataclass
class LoadReport:
    source: str
    business_date: dt.date
    received: int = 0
    loaded: int = 0  # good rows merged (inserted, updated or already identical)
    written: int = 0  # rows the merge actually inserted or changed
    # The good rows went in by the source's upsert, not a plain COPY of new keys: the target held
    # some of their keys already (a rerun, or a file re-sending loaded rows of any date).
    upserted: bool = False
    # The file went straight into the target (_copy_straight), not through the work table.
    copied_straight: bool = False
    rejected: list[RuleCount] = field(default_factory=list)
    merged: bool = False
    parse_error: str | None = None  # the first unparseable value, when the text fallback ran

    @property
    def quarantined(self) -> int:
        return sum(count.rejected for count in self.rejected)

    @property
    def rejected_share(self) -> float:
        return self.quarantined / self.received if self.received else 0.0

    def quarantined_by_rule(self) -> dict[str, int]:
        return {count.rule: count.rejected for count in self.rejected}

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "business_date": self.business_date.isoformat(),
            "received": self.received,
            "loaded": self.loaded,
            "written": self.written,
            "quarantined": self.quarantined,
            "quarantined_by_rule": self.quarantined_by_rule(),
            "merged": self.merged,
            "upserted": self.upserted,
            "copied_straight": self.copied_straight,
            "parse_error": self.parse_error,
        }

    def describe_rejections(self) -> str:
        return "; ".join(
            f"{count.rule}: {count.rejected} row(s), e.g. {count.example_key} {count.example_row}"
            for count in self.rejected
        )


class MalformedFileError(BadInputError, RuntimeError):
    """The file itself is unreadable (wrong header, wrong number of fields): nothing loaded."""


class TooManyBadRowsError(BadInputError, RuntimeError):
    """More of the file broke the rules than the configured maximum: nothing was merged."""

    def __init__(self, report: LoadReport, max_bad_share: float) -> None:
        self.report = report
        super().__init__(
            f"{report.source} of {report.business_date}: {report.quarantined} of {report.received} rows "
            f"({report.rejected_share:.1%}) broke validation rules, above the maximum "
            f"of {max_bad_share:.1%}; "
            f"nothing was loaded, the rejected rows are in reporting.quarantine. "
            f"{report.describe_rejections()}"
        )


def load_file(
    connection: Any,
    source: Source,
    business_date: dt.date,
    open_file: Callable[[], Iterable[bytes]],
    *,
    dag_run_id: str | None = None,
    max_bad_share: float = DEFAULT_MAX_BAD_SHARE,
    statement_timeout: str = DEFAULT_STATEMENT_TIMEOUT,
    scope: Mapping[str, Any] | None = None,
    after_merge: Callable[[Any, LoadReport], None] | None = None,
) -> LoadReport:
    """Load one file of ``source`` for ``business_date`` (a psycopg 3 connection, autocommit off).

    ``open_file`` returns the file's CSV bytes in chunks; it is called again when the file was
    not copied straight into the target, and when a value cannot be parsed (the fallback reads
    it again as text). ``scope`` adds bind parameters of the source's own statements (a
    custodian's statement: its ``custodian``, and ``source``, the quarantine's name for the
    file); ``after_merge`` runs with the cursor in the same transaction once the rows are
    merged (recording a delivery).
    """
    parameters = {
        "business_date": business_date,
        "source": source.name,
        "dag_run_id": dag_run_id,
        "statement_timeout": statement_timeout,
        "copied_straight": False,
        **(scope or {}),
    }
    report = LoadReport(source=parameters["source"], business_date=business_date)
    with connection.transaction(), connection.cursor() as cursor:
        cursor.execute(read_sql("feed/prepare_load.sql"), parameters)
        cursor.execute(read_sql("feed/create_rejected_rows.sql"))
        if source.copied_straight:
            try:  # copied, checked and merged: nothing rejected
                report.received = report.written = _copy_straight(
                    connection, cursor, source, parameters, open_file
                )
                report.copied_straight = True
            except _NotCleanError as reason:
                log.info(
                    "%s: not copied straight into %s (%s); through the work table",
                    source.name,
                    source.target_table,
                    reason,
                )
        if not report.copied_straight:
            report.received = _land(connection, cursor, source, open_file, report)
            report.rejected = _check(cursor, source, parameters)
        cursor.execute(read_sql("feed/delete_quarantine.sql"), parameters)
        cursor.execute(read_sql("feed/insert_quarantine.sql"), parameters)
        if report.copied_straight or report.rejected_share <= max_bad_share:
            if not report.copied_straight:
                report.written, report.upserted = _merge(connection, cursor, source, parameters)
            report.loaded = report.received - report.quarantined
            report.merged = True
            cursor.execute(read_sql("feed/record_load.sql"), {**parameters, **_load_counts(report)})
            if after_merge is not None:
                after_merge(cursor, report)
        cursor.execute(read_sql("feed/drop_work_tables.sql"))
    if report.rejected:
        log.warning(
            "%s of %s: quarantined %d of %d rows. %s",
            source.name,
            business_date,
            report.quarantined,
            report.received,
            report.describe_rejections(),
        )
    if not report.merged:
        raise TooManyBadRowsError(report, max_bad_share)
    log.info(
        "%s of %s: %d rows received, %d loaded (%d written), %d quarantined",
        source.name,
        business_date,
        report.received,
        report.loaded,
        report.written,
        report.quarantined,
    )
    return report


def _load_counts(report: LoadReport) -> dict[str, int | bool]:
    return {
        "received_rows": report.received,
        "loaded_rows": report.loaded,
        "quarantined_rows": report.quarantined,
        "upserted": report.upserted,
    }


class _NotCleanError(Exception):
    """The file cannot be loaded straight into its target (see ``_copy_straight``): it goes
    through the work table, which knows its line numbers and quarantines."""


def _copy_straight(
    connection: Any,
    cursor: Any,
    source: Source,
    parameters: dict[str, Any],
    open_file: Callable[[], Iterable[bytes]],
) -> int:
    """In a savepoint: the steps before COPY_GOOD_ROWS, the COPY into the target, the copied rows
    read back as the work table and checked, the steps after it. _NotCleanError, with the
    savepoint rolled back, when the source's latest file had bad rows, the date holds rows
    already, or the target or a rule refuses a row of this one. An error of the merge steps
    themselves is raised as it is: the work table's way would meet it again."""
    from psycopg import errors

    if not cursor.execute(read_sql("feed/latest_load_was_clean.sql"), parameters).fetchone()[0]:
        raise _NotCleanError("the source's latest file had rows quarantined")
    copy_step = source.merge_steps.index(COPY_GOOD_ROWS)
    with connection.transaction():
        for step in source.merge_steps[:copy_step]:
            cursor.execute(source.sql(step), parameters)
        if cursor.execute(source.sql("date_rows_exist.sql"), parameters).fetchone()[0]:
            raise _NotCleanError("the date has rows in the target already")
        try:
            received = _copy(cursor, source.sql("copy_straight.sql"), _refusing_trailing_spaces(open_file()))
        except (errors.DataError, errors.IntegrityError) as refused:
            raise _NotCleanError(str(refused).splitlines()[0]) from refused
        cursor.execute(source.sql("land_from_target.sql"), parameters)
        if cursor.rowcount != received:  # the others went to other dates, unchecked
            raise _NotCleanError(f"{received - cursor.rowcount} row(s) of another business date")
        rejected = _check(cursor, source, {**parameters, "copied_straight": True})
        if rejected:
            raise _NotCleanError(f"{sum(count.rejected for count in rejected)} row(s) break its rules")
        for step in source.merge_steps[copy_step + 1 :]:
            cursor.execute(source.sql(step), parameters)
    return received


def _refusing_trailing_spaces(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The file's chunks, unchanged, until a value ends in a space (_NotCleanError). Stored into
    varchar(n), a value longer than n loses its excess spaces instead of being refused ("SELL "
    in varchar(4) is 'SELL'), where the work table's text keeps them for the rules to reject:
    such a file goes through the work table. A space before a comma, a quote or a line's end,
    looked for across the chunks' boundaries; one inside a quoted value only costs the attempt."""
    last_byte = b""
    for chunk in chunks:
        if SPACE_BEFORE_A_VALUE_ENDS.search(last_byte + chunk):
            raise _NotCleanError("a value ends in a space")
        last_byte = chunk[-1:] or last_byte
        yield chunk
    if last_byte == b" ":
        raise _NotCleanError("a value ends in a space")


def _check(cursor: Any, source: Source, parameters: dict[str, Any]) -> list[RuleCount]:
    """The source's rules over landed_rows: the rejected rows into rejected_rows, with their
    values, counted by rule. ``copied_straight`` in ``parameters``: the rows are the target's,
    whose keys refused a duplicate key and an unknown trade already (check.sql skips those)."""
    cursor.execute(source.sql("check.sql"), parameters)
    for check in source.extra_checks:
        cursor.execute(source.sql(check), parameters)
    cursor.execute(read_sql("feed/record_rejected_values.sql"))
    cursor.execute(read_sql("feed/rule_counts.sql"))
    return [RuleCount(*row) for row in cursor.fetchall()]


def _land(
    connection: Any, cursor: Any, source: Source, open_file: Callable[[], Iterable[bytes]], report: LoadReport
) -> int:
    """COPY the file into landed_rows (typed); on an unparseable value, land it as text, reject
    the malformed rows (check_text.sql) and cast the others into landed_rows. Returns the rows read."""
    from psycopg import errors

    try:
        with connection.transaction():  # a savepoint: a failed COPY leaves nothing behind
            cursor.execute(source.sql("land.sql"))
            return _copy(cursor, source.sql("copy.sql"), open_file())
    except errors.DataError as error:
        report.parse_error = str(error).splitlines()[0]
        log.warning("%s: %s; checking the file as text", source.name, report.parse_error)
    cursor.execute(source.sql("land.sql"))
    cursor.execute(source.sql("land_text.sql"))
    try:
        received = _copy(cursor, source.sql("copy_text.sql"), open_file())
        cursor.execute(source.sql("check_text.sql"))
        cursor.execute(source.sql("typed_from_text.sql"))
    except errors.DataError as error:
        raise MalformedFileError(f"{source.name}: the file cannot be read: {error}") from error
    return received


def _merge(connection: Any, cursor: Any, source: Source, parameters: dict[str, Any]) -> tuple[int, bool]:
    """Run the source's merge steps; returns the rows written to the target, and whether they
    went in by an upsert (LoadReport.upserted)."""
    written, upserted = 0, False
    for step in source.merge_steps:
        if step == COPY_GOOD_ROWS:
            written, upserted = _copy_good_rows(connection, cursor, source, parameters)
        else:
            cursor.execute(source.sql(step), parameters)
            if step == "merge.sql":
                written, upserted = max(cursor.rowcount, 0), True
    return written, upserted


def _copy_good_rows(
    connection: Any, cursor: Any, source: Source, parameters: dict[str, Any]
) -> tuple[int, bool]:
    """The good rows into the target with COPY (written in batches, unlike INSERT ... SELECT):
    out of the work table in binary into a spool (memory, then disk), and back in. If a key
    is in the target already (a rerun), the savepoint is rolled back and the source's
    on_existing_keys merge runs instead. Returns the rows written, and whether by that merge."""
    import tempfile

    from psycopg import errors

    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES) as spool:
        with cursor.copy(source.sql("copy_out.sql")) as rows_out:
            for data in rows_out:
                spool.write(data)
        spool.seek(0)
        try:
            with connection.transaction():
                chunks = iter(partial(spool.read, COPY_CHUNK_BYTES), b"")
                return _copy(cursor, source.sql("copy_in.sql"), chunks), False
        except errors.UniqueViolation:
            if source.on_existing_keys is None:
                raise
    cursor.execute(source.sql(source.on_existing_keys), parameters)
    return max(cursor.rowcount, 0), True


def _copy(cursor: Any, statement: str, chunks: Iterable[bytes]) -> int:
    with cursor.copy(statement) as copy:
        for chunk in chunks:
            copy.write(chunk)
    return max(cursor.rowcount, 0)
