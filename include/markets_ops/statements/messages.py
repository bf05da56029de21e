"""The "statement ready" message: a custodian announces its statement of a business date.

Key ``<custodian>/<YYYY-MM-DD>``; value (JSON) ``custodian``, ``business_date``, ``object_key``
(the file in the landing bucket), ``rows`` and ``sha256`` (of the file's bytes). A message is
published after its file is written, so a reader may fetch the object at once; the same
statement announced twice has the same key and value.

``parse`` checks a message against these rules and names the one it breaks, so a malformed
message can be quarantined with its reason while the watcher goes on with the next one.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from include.markets_ops.custodians import BY_CODE
from include.markets_ops.errors import BadInputError

STATEMENTS_PREFIX = "landing/custodian_statements/"
_CUSTODIAN = re.compile(r"[A-Z0-9_]{2,24}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
FIELDS = ("custodian", "business_date", "object_key", "rows", "sha256")


class MalformedStatementMessageError(BadInputError, ValueError):
    """A message that breaks one of the rules: ``rule`` names it, the message says how."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule


@dataclass(frozen=True)
class StatementReady:
    custodian: str
    business_date: dt.date
    object_key: str
    rows: int
    sha256: str

    @property
    def key(self) -> str:
        return f"{self.custodian}/{self.business_date.isoformat()}"

    def value(self) -> dict[str, Any]:
        return {
            "custodian": self.custodian,
            "business_date": self.business_date.isoformat(),
            "object_key": self.object_key,
            "rows": self.rows,
            "sha256": self.sha256,
        }


def parse(key: bytes | None, value: bytes | None) -> StatementReady:
    """The statement a message announces, or MalformedStatementMessageError naming the rule."""
    fields = _json_object(value)
    missing = [name for name in FIELDS if name not in fields]
    if missing:
        raise MalformedStatementMessageError("field_missing", f"no {', '.join(missing)} in {fields!r}")
    statement = StatementReady(
        custodian=_custodian(fields["custodian"]),
        business_date=_business_date(fields["business_date"]),
        object_key=_object_key(fields["object_key"]),
        rows=_rows(fields["rows"]),
        sha256=_sha256(fields["sha256"]),
    )
    decoded_key = (key or b"").decode("utf-8", errors="replace")
    if decoded_key != statement.key:
        raise MalformedStatementMessageError(
            "key_value_mismatch", f"key {decoded_key!r} announces {statement.key!r}"
        )
    return statement


def _json_object(value: bytes | None) -> dict[str, Any]:
    if value is None:
        raise MalformedStatementMessageError("value_missing", "a message without a value (a tombstone)")
    try:
        fields = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MalformedStatementMessageError("value_not_json", f"{error}: {value[:80]!r}") from error
    if not isinstance(fields, dict):
        raise MalformedStatementMessageError("value_not_an_object", f"{fields!r}"[:120])
    return fields


def _custodian(value: Any) -> str:
    if not isinstance(value, str) or not _CUSTODIAN.fullmatch(value):
        raise MalformedStatementMessageError("custodian_invalid", f"custodian {value!r}")
    if value not in BY_CODE:
        raise MalformedStatementMessageError(
            "custodian_unknown", f"custodian {value!r} is none of {', '.join(BY_CODE)}"
        )
    return value


def _business_date(value: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as error:
        raise MalformedStatementMessageError("business_date_invalid", f"business_date {value!r}") from error


def _object_key(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith(STATEMENTS_PREFIX) or ".." in value:
        raise MalformedStatementMessageError(
            "object_key_invalid", f"object_key {value!r} is not under {STATEMENTS_PREFIX}"
        )
    return value


def _rows(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedStatementMessageError("rows_invalid", f"rows {value!r}")
    return value


def _sha256(value: Any) -> str:
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise MalformedStatementMessageError("sha256_invalid", f"sha256 {value!r}")
    return value


# --------------------------------------------------------------------------- in the triggerer

RAW_VALUE_CHARS = 2000  # what a malformed message keeps of its value (the quarantine's record)


def as_event(message: Any) -> dict[str, Any]:
    """The watcher's ``apply_function`` (run by the triggerer on every message of the topic):
    the asset event's payload. Never None and never raises, so every message becomes an event
    and a malformed one cannot stop the watcher: it carries the rule it breaks instead of the
    statement, and the DAG quarantines it. Where the message was (partition, offset) travels
    with it, for the quarantine and the logs."""
    key, value = message.key(), message.value()
    event: dict[str, Any] = {
        "key": (key or b"").decode("utf-8", errors="replace")[:200],
        "topic": message.topic(),
        "partition": message.partition(),
        "offset": message.offset(),
    }
    try:
        event["statement"] = parse(key, value).value()
    except MalformedStatementMessageError as error:
        raw = (value or b"").decode("utf-8", errors="replace")
        event["malformed"] = {"rule": error.rule, "detail": str(error)[:500], "value": raw[:RAW_VALUE_CHARS]}
    return event


def statement_of(value: dict[str, Any]) -> StatementReady:
    """A statement back from the asset event (as_event wrote ``statement`` from a parsed one)."""
    return StatementReady(
        custodian=value["custodian"],
        business_date=dt.date.fromisoformat(value["business_date"]),
        object_key=value["object_key"],
        rows=int(value["rows"]),
        sha256=value["sha256"],
    )
