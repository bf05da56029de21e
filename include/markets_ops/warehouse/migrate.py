"""Alembic, driven from Python: ``python -m include.markets_ops.warehouse upgrade|downgrade|current``.

Migrations run as the schema owner role (WAREHOUSE_OWNER_URL); the pipelines never can.
"""

from __future__ import annotations

import io
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None, output_buffer: io.StringIO | None = None) -> Config:
    """Without a URL: for offline (--sql) runs only, which write their script to output_buffer."""
    config = Config(output_buffer=output_buffer)
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        # Alembic's config is an .ini parser: a literal % in a password must be doubled.
        config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def sqlalchemy_url(url: str) -> str:
    """Use psycopg 3 whatever driver the URL names."""
    for prefix in ("postgresql+psycopg2://", "postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError("expected a PostgreSQL URL (postgresql://...)")


def upgrade_to_head(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from settlement_model.timeouts import postgres_options, postgres_timeouts
    from sqlalchemy import create_engine

    connect_args = {**postgres_timeouts(), "options": postgres_options()}
    engine = create_engine(sqlalchemy_url(url), connect_args=connect_args)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def offline_upgrade_scripts() -> dict[str, str]:
    """Each revision's upgrade alone (from its parent) as an offline SQL script, keyed by the
    revision file's name without .py, oldest first: what `make lint` gives squawk. One script
    per revision, so that a table an earlier revision created counts as existing, as it does
    on a real database."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    result: dict[str, str] = {}
    for script in reversed(list(scripts.walk_revisions())):
        parent = script.down_revision
        if isinstance(parent, tuple | list):
            raise ValueError(
                f"revision {script.revision} merges {parent}: lint its branches' scripts instead"
            )
        buffer = io.StringIO()
        revisions = f"{parent}:{script.revision}" if parent else script.revision
        command.upgrade(alembic_config(output_buffer=buffer), revisions, sql=True)
        result[Path(script.path).stem] = buffer.getvalue()
    return result


def write_offline_upgrade_scripts(directory: Path) -> list[Path]:
    """offline_upgrade_scripts() as <revision file name>.sql files in directory (replaced whole)."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.sql"):
        stale.unlink()
    written = []
    for name, sql in offline_upgrade_scripts().items():
        path = directory / f"{name}.sql"
        path.write_text(sql)
        written.append(path)
    return written
