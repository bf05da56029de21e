"""Raw SQL lives in include/sql/**.sql, one statement (or script) per file, with bind parameters."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

SQL_ROOT = Path(__file__).resolve().parents[2] / "sql"


@lru_cache(maxsize=256)
def read_sql(relative_path: str) -> str:
    """The text of include/sql/<relative_path>; refuses paths outside include/sql."""
    path = (SQL_ROOT / relative_path).resolve()
    if SQL_ROOT not in path.parents:
        raise ValueError(f"{relative_path!r} is not under {SQL_ROOT}")
    return path.read_text()
