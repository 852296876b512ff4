"""Which backend a deployment uses: a ``postgresql://`` URL (``CHAT_DATABASE_URL``) opens
PostgreSQL, anything else is the path of the SQLite file (the default, nothing to install)."""

from __future__ import annotations

from pathlib import Path

from storage.database import Database

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(target: str | Path) -> bool:
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


def open_database(target: str | Path) -> Database:
    """The database at a PostgreSQL URL or a SQLite path, its schema brought up to date."""
    if is_postgres(target):
        from storage.postgres import open_postgres  # psycopg is only needed for PostgreSQL

        return open_postgres(str(target))
    from storage.sqlite import open_database as open_sqlite

    return open_sqlite(Path(target))
