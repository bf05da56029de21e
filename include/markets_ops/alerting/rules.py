"""SQL alert rules: one file per rule in include/sql/alerts/, a YAML header and one query.

A rule file starts with a ``/* ... */`` comment holding YAML::

    /*
    id: aged_recon_breaks            # the file's name without .sql
    severity: high                   # critical | high | medium | low
    owner: settlement-ops
    description: >
      What the rule finds and what to do about it.
    parameters:                      # optional; each used in the query as %(name)s
      min_age_business_days: {type: int, default: 5, description: open longer than this}
    */
    SELECT ... AS entity_key, jsonb_build_object(...) AS details FROM ...

The query returns one row per thing to act on: ``entity_key`` (text, unique in the result) and
``details`` (a JSON object). Besides its own parameters it may use the built-in ones (see
BUILTIN_PARAMETERS). Values are always bound by the driver, never formatted into the SQL; a
literal percent sign in the query is written ``%%``. Adding a rule is adding a file (and its
test: tests/unit/markets_ops/alerting/test_every_rule_is_tested.py checks).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from include.markets_ops import calendars
from include.markets_ops.calendars import OPERATIONS_CALENDAR
from include.markets_ops.errors import BadInputError
from include.markets_ops.services.sql_files import SQL_ROOT

RULES_DIR = SQL_ROOT / "alerts"
SEVERITIES = ("critical", "high", "medium", "low")
HEADER_KEYS_REQUIRED = ("id", "severity", "owner", "description")
HEADER_KEYS_OPTIONAL = ("parameters",)
PARAMETER_KEYS = ("type", "default", "description")
RESULT_COLUMNS = ("entity_key", "details")
# How many operations business days before the business date the built-in
# ``recent_business_days`` lists (a trailing window may use up to that many).
RECENT_BUSINESS_DAYS = 260

_RULE_ID = re.compile(r"^[a-z][a-z0-9_]{2,63}$")
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_HEADER = re.compile(r"\A\s*/\*(?P<header>.*?)\*/(?P<query>.*)\Z", re.DOTALL)
# The trigger form's parameter overriding rules' parameters, by rule (ops_sql_alerts).
RULE_PARAMETERS_PARAM = "rule_parameters"


class RuleError(BadInputError, ValueError):
    """A rule file that cannot run: the message names the file and what is wrong."""

    def __init__(self, rule_file: str, problem: str) -> None:
        super().__init__(f"{rule_file}: {problem}")
        self.rule_file = rule_file
        self.problem = problem


def _as_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"expected an integer, got {value!r}")
    return int(value)


def _as_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)


def _as_text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {value!r}")
    return value


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _as_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {value!r}")
    return value


PARAMETER_TYPES: dict[str, Callable[[Any], Any]] = {
    "int": _as_int,
    "float": _as_float,
    "text": _as_text,
    "date": _as_date,
    "bool": _as_bool,
}

BUILTIN_PARAMETERS = {
    "business_date": "the business date the rules run for (date)",
    "previous_business_date": "the operations business day before it (date)",
    "next_business_date": "the operations business day after it (date)",
    "recent_business_days": (
        f"the {RECENT_BUSINESS_DAYS} operations business days before the business date, most recent "
        "first (date[]); (%(recent_business_days)s::date[])[n] is the n-th business day back"
    ),
}


@dataclass(frozen=True)
class RuleParameter:
    name: str
    type: str
    default: Any
    description: str

    def coerce(self, value: Any) -> Any:
        return PARAMETER_TYPES[self.type](value)


@dataclass(frozen=True)
class Rule:
    rule_id: str
    file_name: str
    severity: str
    owner: str
    description: str
    parameters: tuple[RuleParameter, ...]
    query: str

    def bind(self, business_date: dt.date, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The values the query is executed with: built-ins, then defaults, then ``overrides``.

        Raises RuleError for an override of an unknown parameter or of the wrong type.
        """
        declared = {p.name: p for p in self.parameters}
        values: dict[str, Any] = builtin_values(business_date)
        values.update({p.name: p.default for p in self.parameters})
        for name, value in (overrides or {}).items():
            if name not in declared:
                known = ", ".join(sorted(declared)) or "none"
                raise RuleError(self.file_name, f"unknown parameter {name!r} (the rule declares: {known})")
            try:
                values[name] = declared[name].coerce(value)
            except (TypeError, ValueError) as error:
                raise RuleError(self.file_name, f"parameter {name!r}: {error}") from error
        return values

    def declared_values(self, bound: Mapping[str, Any]) -> dict[str, Any]:
        """The rule's own parameters out of ``bound`` (what the run record keeps)."""
        return {p.name: bound[p.name] for p in self.parameters}


def builtin_values(business_date: dt.date) -> dict[str, Any]:
    recent = []
    day = business_date
    for _ in range(RECENT_BUSINESS_DAYS):
        day = calendars.previous_business_day(day, OPERATIONS_CALENDAR)
        recent.append(day)
    return {
        "business_date": business_date,
        "previous_business_date": recent[0],
        "next_business_date": calendars.add_business_days(business_date, 1, OPERATIONS_CALENDAR),
        "recent_business_days": recent,
    }


def rule_files(rules_dir: Path | None = None) -> list[str]:
    """The rule files' names, sorted (one mapped task each)."""
    return sorted(path.name for path in (rules_dir or RULES_DIR).glob("*.sql"))


def load_rule(file_name: str, rules_dir: Path | None = None) -> Rule:
    """Read and validate one rule file; RuleError says what is wrong with it."""
    if Path(file_name).name != file_name or not file_name.endswith(".sql"):
        raise RuleError(file_name, "a rule is a file name ending in .sql inside the rules folder")
    rules_dir = rules_dir or RULES_DIR
    path = rules_dir / file_name
    if not path.is_file():
        raise RuleError(file_name, f"no such rule file in {rules_dir}")
    return parse_rule(file_name, path.read_text())


def parse_rule(file_name: str, text: str) -> Rule:
    match = _HEADER.match(text)
    if not match:
        raise RuleError(file_name, "malformed header: the file must start with a /* ... */ YAML header")
    header = _parse_header_yaml(file_name, match["header"])
    query = match["query"].strip()
    rule_id = _check_header(file_name, header)
    parameters = _parse_parameters(file_name, header.get("parameters") or {})
    _check_query(file_name, query, parameters)
    return Rule(
        rule_id=rule_id,
        file_name=file_name,
        severity=header["severity"],
        owner=str(header["owner"]),
        description=" ".join(str(header["description"]).split()),
        parameters=parameters,
        query=query,
    )


def _parse_header_yaml(file_name: str, header_text: str) -> dict[str, Any]:
    import yaml

    try:
        header = yaml.safe_load(header_text)
    except yaml.YAMLError as error:
        raise RuleError(file_name, f"malformed header: not valid YAML ({error})") from error
    if not isinstance(header, dict):
        raise RuleError(file_name, "malformed header: expected YAML keys id, severity, owner, description")
    return header


def _check_header(file_name: str, header: dict[str, Any]) -> str:
    missing = [key for key in HEADER_KEYS_REQUIRED if not header.get(key)]
    if missing:
        raise RuleError(file_name, f"malformed header: missing {', '.join(missing)}")
    unknown = sorted(set(header) - set(HEADER_KEYS_REQUIRED) - set(HEADER_KEYS_OPTIONAL))
    if unknown:
        raise RuleError(file_name, f"malformed header: unknown keys {', '.join(unknown)}")
    rule_id = str(header["id"])
    if not _RULE_ID.match(rule_id):
        raise RuleError(file_name, f"malformed header: id {rule_id!r} must be lower_snake_case, 3-64 chars")
    if f"{rule_id}.sql" != file_name:
        raise RuleError(file_name, f"malformed header: id {rule_id!r} must be the file's name ({file_name})")
    if header["severity"] not in SEVERITIES:
        raise RuleError(
            file_name,
            f"malformed header: severity {header['severity']!r} is not one of {', '.join(SEVERITIES)}",
        )
    return rule_id


def _parse_parameters(file_name: str, raw: Any) -> tuple[RuleParameter, ...]:
    if not isinstance(raw, dict):
        raise RuleError(
            file_name, "malformed header: parameters must be a mapping of name to {type, default, ...}"
        )
    parameters = []
    for name, spec in raw.items():
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise RuleError(file_name, f"malformed header: parameter name {name!r} must be lower_snake_case")
        if name in BUILTIN_PARAMETERS:
            raise RuleError(
                file_name, f"malformed header: parameter {name!r} is built in and cannot be declared"
            )
        if not isinstance(spec, dict) or set(spec) - set(PARAMETER_KEYS) or "type" not in spec:
            raise RuleError(
                file_name, f"malformed header: parameter {name!r} needs type, default and description only"
            )
        if spec["type"] not in PARAMETER_TYPES:
            raise RuleError(
                file_name,
                f"malformed header: parameter {name!r} has type {spec['type']!r}; "
                f"types are {', '.join(PARAMETER_TYPES)}",
            )
        if "default" not in spec or not spec.get("description"):
            raise RuleError(
                file_name, f"malformed header: parameter {name!r} needs a default and a description"
            )
        try:
            default = PARAMETER_TYPES[spec["type"]](spec["default"])
        except (TypeError, ValueError) as error:
            raise RuleError(file_name, f"malformed header: default of {name!r}: {error}") from error
        parameters.append(
            RuleParameter(name, spec["type"], default, " ".join(str(spec["description"]).split()))
        )
    return tuple(parameters)


def _check_query(file_name: str, query: str, parameters: tuple[RuleParameter, ...]) -> None:
    if not query:
        raise RuleError(file_name, "the rule has a header but no query")
    used = set(_PLACEHOLDER.findall(query))
    declared = {p.name for p in parameters}
    unknown = sorted(used - declared - set(BUILTIN_PARAMETERS))
    if unknown:
        raise RuleError(
            file_name,
            f"unknown parameter {', '.join(f'%({name})s' for name in unknown)} in the query: declare it "
            f"in the header or use a built-in ({', '.join(BUILTIN_PARAMETERS)})",
        )
    unused = sorted(declared - used)
    if unused:
        raise RuleError(file_name, f"declared parameter {', '.join(unused)} is not used by the query")
