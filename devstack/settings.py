"""Apply airflow_settings.yaml (the Astro CLI format) to the local Airflow through its REST API."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from devstack.airflow_api import AirflowApi

PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)\}")


SETTINGS_FILE = Path(__file__).resolve().parents[1] / "airflow_settings.yaml"


class SettingsError(ValueError):
    pass


def variable(name: str, path: Path = SETTINGS_FILE) -> str:
    """A Variable's value as airflow_settings.yaml sets it for the local stack (what the DAGs
    read there, e.g. the scoring shard count the benchmark and the tests expect)."""
    document = yaml.safe_load(path.read_text()) or {}
    for item in (document.get("airflow") or {}).get("variables") or []:
        if item["variable_name"] == name:
            return str(_variable(item)["value"])
    raise SettingsError(f"airflow_settings.yaml sets no variable {name!r}")


def fill_placeholders(value: Any, values: dict[str, str]) -> Any:
    """Replace ${NAME} in every string of a parsed YAML tree; an unknown name is an error."""
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                raise SettingsError(
                    f"airflow_settings.yaml uses ${{{name}}}, which var/stack.env does not define"
                )
            return values[name]

        return PLACEHOLDER.sub(replace, value)
    if isinstance(value, list):
        return [fill_placeholders(item, values) for item in value]
    if isinstance(value, dict):
        return {key: fill_placeholders(item, values) for key, item in value.items()}
    return value


def load(path: Path, values: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    document = yaml.safe_load(path.read_text()) or {}
    settings = fill_placeholders(document.get("airflow") or {}, values)
    return {
        "connections": [_connection(item) for item in settings.get("connections") or []],
        "variables": [_variable(item) for item in settings.get("variables") or []],
        "pools": [_pool(item) for item in settings.get("pools") or []],
    }


def _connection(item: dict[str, Any]) -> dict[str, Any]:
    extra = item.get("conn_extra")
    port = item.get("conn_port")
    return {
        "connection_id": item["conn_id"],
        "conn_type": item["conn_type"],
        "host": item.get("conn_host"),
        "port": int(port) if port not in (None, "") else None,
        "schema": item.get("conn_schema"),
        "login": item.get("conn_login"),
        "password": item.get("conn_password"),
        "extra": json.dumps(extra) if isinstance(extra, dict) else extra,
        "description": item.get("conn_description"),
    }


def _variable(item: dict[str, Any]) -> dict[str, Any]:
    value = item["variable_value"]
    return {
        "key": item["variable_name"],
        "value": value if isinstance(value, str) else json.dumps(value),
        "description": item.get("variable_description"),
    }


def _pool(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": item["pool_name"],
        "slots": int(item["pool_slot"]),
        "description": item.get("pool_description"),
        "include_deferred": False,
    }


def apply(api: AirflowApi, path: Path, values: dict[str, str]) -> dict[str, int]:
    settings = load(path, values)
    for collection in ("connections", "variables", "pools"):
        if settings[collection]:
            api.bulk_upsert(collection, settings[collection])
    return {collection: len(items) for collection, items in settings.items()}
