"""The interface every backend implements: statements with ``?`` placeholders, rows as dicts,
``transaction()`` that nests through savepoints, and ``after_commit`` for work that must only
happen once the data is durable (pushing events to websockets).

Two backends: SQLite (storage/sqlite.py, the default) and PostgreSQL (storage/postgres.py,
translating ``?`` to its own placeholders); ``open_database`` in storage/backends.py picks one
from the database URL. Each has its own ``Dialect``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

Row = dict[str, Any]
Params = Sequence[Any]


class StorageError(Exception):
    """Any failure of the database layer."""


class IntegrityError(StorageError):
    """A constraint (unique, foreign key, check, not null) refused a write."""


class OperationalError(StorageError):
    """The database could not do the work: disk full, locked past the busy timeout, I/O error."""


class SchemaError(StorageError):
    """The database file's schema is newer than this code, or a migration is missing."""


@contextmanager
def translated_errors(integrity: type[Exception], operational: type[Exception],
                      base: type[Exception]) -> Iterator[None]:
    """A driver's exceptions as the layer's own, so callers need not know the backend."""
    try:
        yield
    except integrity as exc:
        raise IntegrityError(str(exc)) from exc
    except operational as exc:
        raise OperationalError(str(exc)) from exc
    except base as exc:
        raise StorageError(str(exc)) from exc


@dataclass(frozen=True)
class SeqNotice:
    """A notification a numbering statement sends itself (``pg_notify`` on PostgreSQL, delivered
    once it commits), its payload ``head``, the number it gave, ``tail``."""

    channel: str
    head: str
    tail: str


class Dialect(ABC):
    """The SQL that differs between backends, as fragments repositories put into statements."""

    # The pattern match that ignores the case of (at least) ASCII letters: SQLite's LIKE does.
    like = "LIKE"
    # Whether INSERT/UPDATE may sit in a WITH clause, so that one statement can number a row,
    # store it and announce it (PostgreSQL): on a database server each statement is a round trip.
    writable_ctes = False

    @abstractmethod
    def json_get(self, column: str, key: str) -> str:
        """An expression for the text or number at ``key`` (dotted path) of a JSON column."""

    @abstractmethod
    def json_set(self, column: str, key: str) -> str:
        """An expression for the JSON column with ``key`` set to the JSON of the next parameter."""

    def notify(self, channel: str, payload: str) -> str:
        """An expression that sends ``payload`` on ``channel`` once the transaction commits."""
        raise NotImplementedError("only a database server sends notifications")

    def ddl(self, statement: str) -> str:
        """A migration's DDL, written in SQLite's types, in this backend's."""
        return statement

    # The retention purge's bulk statements (storage/retention.py) -------------------------------

    # After a SELECT: lock the rows it read until the transaction ends (SQLite's write
    # transaction already holds the whole database).
    lock_rows = ""

    @abstractmethod
    def in_json_list(self, param: str) -> str:
        """``IN`` the members (text) of a JSON list given as the parameter ``param``."""

    @abstractmethod
    def json_value(self, column: str, key: str) -> str:
        """The JSON value at ``key`` (dotted path) of a JSON column, for building JSON."""

    @abstractmethod
    def json_object(self, pairs: str) -> str:
        """A JSON object of ``'key', value`` pairs."""

    @abstractmethod
    def json_object_without_nulls(self, pairs: str) -> str:
        """As ``json_object``, as text, the members whose value is null left out (also in the
        objects nested in it)."""

    @abstractmethod
    def json_remove(self, column: str, *keys: str) -> str:
        """The JSON column, as text, without its top-level ``keys``."""

    @abstractmethod
    def first_rows(self, table: str, where: str, limit: int) -> str:
        """A condition on ``table`` true for at most ``limit`` of the rows matching ``where``."""

    # A node's database session (storage/nodes.py) ---------------------------------------------

    # One process holds every connection to a SQLite file: its session is open while it runs.
    own_session = "NULL"

    def session_open(self, column: str) -> str:
        """A condition: the session ``column`` names (written from ``own_session``) is open."""
        return "1 = 1"


class Database(ABC):
    """One connection and its transaction state. Not shared between threads: a thread that needs
    the database (the retention purge) opens its own."""

    dialect: Dialect

    def __init__(self) -> None:
        self._depth = 0
        # Callbacks waiting for the outermost commit, and for each open savepoint how many were
        # registered before it (a rolled-back savepoint drops the ones registered inside it).
        self._after_commit: list[Callable[[], None]] = []
        self._marks: list[int] = []

    @contextmanager
    def transaction(self, *, join: bool = False) -> Iterator[None]:
        """A write transaction (the outermost takes the write lock at once); nested calls are
        savepoints, so an inner failure that the caller handles undoes only the inner part.
        ``join``: inside an open transaction, simply be part of it, without a savepoint (two
        statements fewer on each call: PostgreSQL's round trips are what a message's writes
        cost); a failure then fails the caller's whole transaction."""
        if join and self._depth > 0:
            yield
            return
        if self._depth == 0:
            self._begin()
        else:
            self._savepoint(self._depth)
            self._marks.append(len(self._after_commit))
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            self._undo()
            raise
        self._depth -= 1
        self._done()

    def _undo(self) -> None:
        if self._depth == 0:
            self._after_commit.clear()
            self._rollback()
            return
        del self._after_commit[self._marks.pop():]
        self._rollback_to(self._depth)

    def _done(self) -> None:
        if self._depth > 0:
            self._marks.pop()
            self._release(self._depth)
            return
        try:
            self._commit()
        except BaseException:
            self._after_commit.clear()
            self._rollback()
            raise
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the outermost transaction has committed (at once when none is
        open); never when it rolls back."""
        if self._depth == 0:
            callback()
        else:
            self._after_commit.append(callback)

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    # Statements -------------------------------------------------------------------------------

    @abstractmethod
    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""

    @abstractmethod
    def rows(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query, as dicts keyed by column name."""

    def row(self, sql: str, params: Params = ()) -> Row | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def value(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row, or None when there is no row."""
        found = self.row(sql, params)
        return next(iter(found.values())) if found else None

    # What each backend provides -----------------------------------------------------------------

    @abstractmethod
    def columns(self, table: str) -> set[str]:
        """The names of a table's columns (migrations that add one check first)."""

    @abstractmethod
    def schema_version(self) -> int: ...

    @abstractmethod
    def set_schema_version(self, version: int) -> None: ...

    @abstractmethod
    def reclaim(self, tables: Sequence[str]) -> bool:
        """After rows of ``tables`` were deleted or overwritten (the retention purge), make the
        backend let go of their old copies (outside a transaction); False when it could not yet
        (busy), and a later call does it."""

    @abstractmethod
    def rebuild(self, tables: Sequence[str]) -> bool:
        """Write ``tables`` (SQLite: the whole file) anew, so that no free space in them still
        holds old bytes that ``reclaim`` left there; holds their locks while it runs. As
        ``reclaim``, False when busy."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def _begin(self) -> None: ...

    @abstractmethod
    def _commit(self) -> None: ...

    @abstractmethod
    def _rollback(self) -> None: ...

    @abstractmethod
    def _savepoint(self, depth: int) -> None: ...

    @abstractmethod
    def _release(self, depth: int) -> None: ...

    @abstractmethod
    def _rollback_to(self, depth: int) -> None: ...
