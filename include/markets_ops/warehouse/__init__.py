"""The warehouse database: schema (models.py), migrations (Alembic) and bulk I/O helpers."""
