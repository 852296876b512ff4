"""The SQLite backend and the one connection policy every connection to the file gets.

WAL with ``synchronous=NORMAL``: a committed transaction survives the process being killed
(SIGKILL), the promise behind every ``ack``; only a power loss could drop the last commits.
``busy_timeout`` lets a writer wait up to 10 s for another (the retention purge, a second
process) instead of failing. ``foreign_keys`` makes the schema's references hold.
``secure_delete`` zeroes what is deleted or overwritten, so text removed by the retention purge,
or replaced (the dialogue context), does not linger in the file's free space. Writes take the
lock when their transaction begins (``BEGIN IMMEDIATE``): a transaction that read first and
upgraded later could fail at once with "database is locked" instead of waiting.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from storage.database import (
    Database,
    Dialect,
    Params,
    Row,
    StorageError,
    translated_errors,
)
from storage.migrations import migrate

BUSY_TIMEOUT_MS = 10_000
POLICY = {
    "journal_mode": "wal",
    "synchronous": 1,  # NORMAL
    "busy_timeout": BUSY_TIMEOUT_MS,
    "foreign_keys": 1,
    "secure_delete": 1,
}


def connect(path: Path) -> sqlite3.Connection:
    """A raw connection with the policy applied, for the Database below."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
                         check_same_thread=False)
    for name, value in POLICY.items():
        db.execute(f"PRAGMA {name}={value}")
    return db


class SQLiteDialect(Dialect):
    def json_get(self, column: str, key: str) -> str:
        return f"json_extract({column}, '$.{key}')"

    def json_set(self, column: str, key: str) -> str:
        return f"json_set({column}, '$.{key}', json(?))"

    # The retention purge's bulk statements (storage/retention.py) ------------------------------

    def in_json_list(self, param: str) -> str:
        return f"IN (SELECT value FROM json_each({param}))"

    def json_value(self, column: str, key: str) -> str:
        return self.json_get(column, key)

    def json_object(self, pairs: str) -> str:
        return f"json_object({pairs})"

    def json_object_without_nulls(self, pairs: str) -> str:
        # A merge patch drops the members it sets to null, nested ones too (RFC 7396).
        return f"json_patch('{{}}', json_object({pairs}))"

    def json_remove(self, column: str, *keys: str) -> str:
        paths = ", ".join(f"'$.{key}'" for key in keys)
        return f"json_remove({column}, {paths})"

    def first_rows(self, table: str, where: str, limit: int) -> str:
        return f"rowid IN (SELECT rowid FROM {table} WHERE {where} LIMIT {int(limit)})"


DIALECT = SQLiteDialect()


def _translated() -> AbstractContextManager[None]:
    """sqlite3's exceptions as the layer's own."""
    return translated_errors(sqlite3.IntegrityError, sqlite3.OperationalError, sqlite3.DatabaseError)


class SQLiteDatabase(Database):
    dialect = DIALECT

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.closed = False
        with _translated():
            self.connection = connect(path)

    def execute(self, sql: str, params: Params = ()) -> int:
        with _translated():
            return self.connection.execute(sql, params).rowcount

    def rows(self, sql: str, params: Params = ()) -> list[Row]:
        with _translated():
            cursor = self.connection.execute(sql, params)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]

    def columns(self, table: str) -> set[str]:
        return {row["name"] for row in self.rows(f"PRAGMA table_info({table})")}

    def schema_version(self) -> int:
        return int(self.connection.execute("PRAGMA user_version").fetchone()[0])

    def set_schema_version(self, version: int) -> None:
        self.connection.execute(f"PRAGMA user_version={int(version)}")

    def checkpoint(self) -> bool:
        """Copy the WAL into the database file and empty it; False while readers hold it."""
        with _translated():
            busy, _, _ = self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return not busy

    def reclaim(self, tables: Sequence[str]) -> bool:
        """``secure_delete`` (the connection policy) has zeroed the removed text in the file;
        the WAL's older page images still hold it: empty the WAL."""
        with _translated():
            return wait_for_checkpoint(self.connection)

    def rebuild(self, tables: Sequence[str]) -> bool:
        """VACUUM the whole file (SQLite rebuilds files, not tables): free pages written before
        ``secure_delete`` was on (by an earlier version) may still hold old text."""
        with _translated():
            self.connection.execute("VACUUM")
            return wait_for_checkpoint(self.connection)

    def close(self) -> None:
        """Empty the WAL and close; closing again does nothing."""
        if self.in_transaction:
            raise StorageError("closing a database inside a transaction")
        if self.closed:
            return
        self.checkpoint()
        self.connection.close()
        self.closed = True

    def _begin(self) -> None:
        with _translated():
            self.connection.execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        with _translated():
            self.connection.execute("COMMIT")

    def _rollback(self) -> None:
        if self.connection.in_transaction:  # a failed COMMIT may already have rolled back
            self.connection.execute("ROLLBACK")

    def _savepoint(self, depth: int) -> None:
        with _translated():
            self.connection.execute(f"SAVEPOINT sp{depth}")

    def _release(self, depth: int) -> None:
        with _translated():
            self.connection.execute(f"RELEASE sp{depth}")

    def _rollback_to(self, depth: int) -> None:
        self.connection.execute(f"ROLLBACK TO sp{depth}")
        self.connection.execute(f"RELEASE sp{depth}")


def wait_for_checkpoint(db: sqlite3.Connection, tries: int = 5) -> bool:
    """Empty the WAL (its older page images still hold what was deleted), waiting for readers of
    older snapshots; False when they kept it busy throughout."""
    for _ in range(tries):
        busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if not busy:
            return True
        time.sleep(0.2)
    return False


def open_database(path: Path) -> SQLiteDatabase:
    """The database at ``path``, its schema brought up to date."""
    database = SQLiteDatabase(path)
    migrate(database)
    return database
