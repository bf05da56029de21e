"""The model pod's package imports no Airflow: it runs in its own image, without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from settlement_model import cli

PACKAGE = Path(cli.__file__).resolve().parent


def test_the_package_never_imports_airflow() -> None:
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 10
    offenders = [
        str(p) for p in sources if "import airflow" in p.read_text() or "from airflow" in p.read_text()
    ]
    assert offenders == []
    modules = [f"settlement_model.{p.stem}" for p in sources if p.stem not in ("__init__", "__main__")]
    imported = "sorted(m for m in sys.modules if m.startswith('airflow'))"
    check = f"import sys; import {', '.join(modules)}; print({imported})"
    completed = subprocess.run(
        [sys.executable, "-c", check],
        env={"PYTHONPATH": str(PACKAGE.parent)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert completed.stdout.strip() == "[]"
