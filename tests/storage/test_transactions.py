"""Transactions of the storage layer on a real SQLite file and a real PostgreSQL database:
savepoints, rollback, after_commit, foreign keys; and SQLite's write lock and the one connection
policy every connection to its file gets."""

from __future__ import annotations

import sqlite3

import pytest
from psycopg.pq import TransactionStatus

from bot.store import Store
from handoff.store import HandoffStore
from storage import postgres
from storage.backends import open_database
from storage.database import Database, IntegrityError, OperationalError
from storage.sqlite import SQLiteDatabase


@pytest.fixture
def sqlite_db(tmp_path):
    database = open_database(tmp_path / "chat.sqlite3")
    yield database
    database.close()


def add_agent(db: Database, username: str) -> None:
    db.execute("INSERT INTO handoff_agents VALUES (?, 'N', 'agent', '[]', '[]', 1, 'x', 0, 0)",
               (username,))


def agents(db: Database) -> list[str]:
    return [r["username"] for r in db.rows("SELECT username FROM handoff_agents ORDER BY username")]


def connection_in_transaction(db: Database) -> bool:
    """What the backend's own connection says, not the layer's bookkeeping."""
    if isinstance(db, SQLiteDatabase):
        return db.connection.in_transaction
    return db.connection.info.transaction_status != TransactionStatus.IDLE


def test_a_joined_transaction_commits_and_rolls_back_with_its_caller(db):
    pushed: list[str] = []
    with db.transaction(join=True):  # none open: a transaction of its own
        add_agent(db, "alone")
        db.after_commit(lambda: pushed.append("alone"))
    with pytest.raises(RuntimeError), db.transaction():
        add_agent(db, "outer")
        with db.transaction(join=True):
            add_agent(db, "joined")
            db.after_commit(lambda: pushed.append("joined"))
        raise RuntimeError("the caller fails after the joined part")
    assert agents(db) == ["alone"] and pushed == ["alone"]
    assert not connection_in_transaction(db)


def test_a_failed_nested_transaction_undoes_only_its_savepoint(db):
    with db.transaction():
        add_agent(db, "outer")
        with pytest.raises(IntegrityError), db.transaction():
            add_agent(db, "inner")
            add_agent(db, "outer")  # taken: the inner part fails
        add_agent(db, "after")
    assert agents(db) == ["after", "outer"]


def test_an_error_rolls_the_whole_transaction_back(db):
    with pytest.raises(RuntimeError), db.transaction():
        add_agent(db, "a")
        with db.transaction():
            add_agent(db, "b")
        raise RuntimeError("fails after the savepoint was released")
    assert agents(db) == []
    assert not db.in_transaction and not connection_in_transaction(db)


def test_after_commit_runs_only_once_the_outermost_transaction_committed(db, database_target):
    other = open_database(database_target)  # what another connection sees
    seen: list[tuple[str, list]] = []

    def look(name: str) -> None:
        seen.append((name, agents(other)))

    with db.transaction():
        add_agent(db, "a")
        db.after_commit(lambda: look("outer"))
        with db.transaction():
            db.after_commit(lambda: look("inner"))
        assert seen == []  # not yet: nothing is committed
    assert seen == [("outer", ["a"]), ("inner", ["a"])]  # in order, the rows visible

    seen.clear()
    with pytest.raises(RuntimeError), db.transaction():
        db.after_commit(lambda: look("rolled back"))
        raise RuntimeError
    with db.transaction():
        with pytest.raises(RuntimeError), db.transaction():
            db.after_commit(lambda: look("savepoint rolled back"))
            raise RuntimeError
        db.after_commit(lambda: look("kept"))
    assert [name for name, _ in seen] == ["kept"]

    db.after_commit(lambda: look("no transaction"))  # outside one: at once
    assert seen[-1][0] == "no transaction"
    other.close()


def test_foreign_keys_are_enforced(db):
    with pytest.raises(IntegrityError, match="(?i)FOREIGN KEY"):
        db.execute("INSERT INTO events (session_id, seq, type, body) VALUES ('nobody', 1, 'visitor', '{}')")
    with pytest.raises(IntegrityError, match="(?i)FOREIGN KEY"):
        db.execute("INSERT INTO handoff_notes (chat_id, ts, author, kind, text) VALUES (99, 0, 'li', 'note', 'x')")


def test_a_sqlite_transaction_takes_the_write_lock_when_it_begins(sqlite_db, tmp_path):
    db = sqlite_db
    other = sqlite3.connect(tmp_path / "chat.sqlite3", isolation_level=None, timeout=0)
    with db.transaction():  # nothing written yet, but no other writer may start
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")  # committed: free again
    with pytest.raises(OperationalError, match="locked"):
        db.connection.execute("PRAGMA busy_timeout=0")
        with db.transaction():
            pass
    other.execute("ROLLBACK")
    other.close()


POLICY = {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 10_000, "foreign_keys": 1,
          "secure_delete": 1}


def pragmas(connection: sqlite3.Connection) -> dict:
    return {name: connection.execute(f"PRAGMA {name}").fetchone()[0] for name in POLICY}


def test_every_connection_gets_the_one_policy(tmp_path):
    path = tmp_path / "chat.sqlite3"
    store = Store(path)
    handoff = HandoffStore(path)  # a second connection, from the path
    shared = HandoffStore(store.database)  # the server's way: the store's connection
    purging = open_database(path)  # the retention purge's own, in its thread (bot/retention.py)
    assert isinstance(purging, SQLiteDatabase)
    for connection in (store.db, handoff.db, shared.db, purging.connection):
        assert pragmas(connection) == POLICY
    assert shared.db is store.db
    purging.close()
    shared.close()  # does not close the store's database
    assert store.session("x") is None
    handoff.close()
    store.close()


def test_a_postgres_writer_waits_for_a_row_lock_only_so_long(postgres_url, monkeypatch):
    monkeypatch.setattr(postgres, "LOCK_TIMEOUT_MS", 200)
    db, other = open_database(postgres_url), open_database(postgres_url)
    add_agent(db, "li")
    with db.transaction():
        db.execute("UPDATE handoff_agents SET name = 'held' WHERE username = 'li'")
        with pytest.raises(OperationalError, match="lock timeout"):
            other.execute("UPDATE handoff_agents SET name = 'waited' WHERE username = 'li'")
    other.execute("UPDATE handoff_agents SET name = 'after' WHERE username = 'li'")  # free again
    assert db.value("SELECT name FROM handoff_agents") == "after"
    db.close()
    other.close()


def test_a_lost_postgres_connection_fails_its_transaction_and_is_opened_again(postgres_url):
    db, other = open_database(postgres_url), open_database(postgres_url)
    lost = db.value("SELECT pg_backend_pid()")
    with pytest.raises(OperationalError), db.transaction():
        add_agent(db, "li")
        other.execute("SELECT pg_terminate_backend(?)", (lost,))  # as a server restart would
        add_agent(db, "wang")
    assert not db.in_transaction and agents(other) == []  # nothing half-written
    with db.transaction():  # the next one runs on a new connection
        add_agent(db, "zhao")
    assert agents(other) == ["zhao"] and db.value("SELECT pg_backend_pid()") != lost
    db.close()
    assert db.closed and other.closed is False
    other.close()
