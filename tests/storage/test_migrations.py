"""The schema's migrations on real SQLite files: from an empty file, and from files the store
layers before storage/ made (their SQL inline below), whose rows must all survive; and on a real
PostgreSQL server, from an empty database."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest

from storage.conversations import Conversations
from storage.database import SchemaError
from storage.migrations import LATEST, migrate
from storage.postgres import PostgresDatabase, open_postgres
from storage.sqlite import SQLiteDatabase, open_database

# bot/store.py's and handoff/store.py's schema as they created it, before storage/.
OLD_CHAT_SCHEMA = """
CREATE TABLE sessions (
    id TEXT PRIMARY KEY, token_hash TEXT UNIQUE NOT NULL, lang TEXT, script TEXT,
    lang_locked INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL DEFAULT 'bot',
    channel TEXT NOT NULL DEFAULT 'web', created_at REAL NOT NULL, last_seen REAL NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0, context TEXT NOT NULL DEFAULT '{}', purged_at REAL);
CREATE TABLE events (
    session_id TEXT NOT NULL REFERENCES sessions(id), seq INTEGER NOT NULL, type TEXT NOT NULL,
    client_id TEXT, body TEXT NOT NULL, PRIMARY KEY (session_id, seq));
CREATE UNIQUE INDEX events_client_id ON events(session_id, client_id) WHERE client_id IS NOT NULL;
CREATE TABLE transfers (
    token_hash TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id),
    expires_at REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE ratings (
    session_id TEXT NOT NULL REFERENCES sessions(id), score INTEGER NOT NULL, comment TEXT,
    ts REAL NOT NULL);
CREATE TABLE feedback (
    session_id TEXT NOT NULL REFERENCES sessions(id), seq INTEGER NOT NULL, value TEXT NOT NULL,
    ts REAL NOT NULL);
CREATE INDEX transfers_session ON transfers(session_id);
CREATE INDEX ratings_session ON ratings(session_id);
CREATE INDEX sessions_unpurged ON sessions(last_seen, id) WHERE purged_at IS NULL;
"""
OLD_HANDOFF_SCHEMA = """
CREATE TABLE handoff_agents (
    username TEXT PRIMARY KEY, name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('agent', 'supervisor')), queues TEXT NOT NULL,
    langs TEXT NOT NULL, max_chats INTEGER NOT NULL CHECK (max_chats >= 1),
    password_hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL);
CREATE TABLE handoff_tokens (
    token_hash TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES handoff_agents(username),
    created_at REAL NOT NULL, expires_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE handoff_login_failures (username TEXT NOT NULL, ts REAL NOT NULL);
CREATE INDEX handoff_login_failures_user ON handoff_login_failures(username, ts);
CREATE TABLE handoff_lockouts (username TEXT PRIMARY KEY, locked_until REAL NOT NULL);
CREATE TABLE handoff_chats (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'agent', 'bot', 'closed', 'abandoned')),
    queue_id TEXT NOT NULL, lang TEXT NOT NULL, business_option TEXT, region TEXT, city TEXT,
    overseas INTEGER NOT NULL DEFAULT 0, summary TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '', rule TEXT NOT NULL DEFAULT '', owner TEXT,
    waiting_since REAL NOT NULL, enqueued_at REAL NOT NULL, claimed_at REAL, ended_at REAL,
    outcome TEXT, leaving_message INTEGER NOT NULL DEFAULT 0, purged_at REAL);
CREATE UNIQUE INDEX handoff_chats_one_active ON handoff_chats(session_id) WHERE status IN ('queued', 'agent');
CREATE INDEX handoff_chats_status ON handoff_chats(status, queue_id, waiting_since);
CREATE TABLE handoff_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, chat_id INTEGER NOT NULL REFERENCES handoff_chats(id),
    ts REAL NOT NULL, author TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL);
CREATE TABLE handoff_tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL,
    chat_id INTEGER REFERENCES handoff_chats(id), queue_id TEXT NOT NULL, lang TEXT NOT NULL,
    text TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at REAL NOT NULL, closed_at REAL, closed_by TEXT, reply TEXT, ref TEXT, purged_at REAL);
CREATE UNIQUE INDEX handoff_tickets_ref ON handoff_tickets(ref);
CREATE TABLE handoff_ratings (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL,
    chat_id INTEGER REFERENCES handoff_chats(id), agent TEXT, queue_id TEXT,
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5), comment TEXT, ts REAL NOT NULL);
CREATE TABLE handoff_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, session_id TEXT, detail TEXT NOT NULL DEFAULT '{}');
"""
# A database from before the retention purge and ticket references: these columns came later.
LATER_COLUMNS = (", purged_at REAL", ", ref TEXT", "CREATE UNIQUE INDEX handoff_tickets_ref ON handoff_tickets(ref);",
                 "CREATE INDEX sessions_unpurged ON sessions(last_seen, id) WHERE purged_at IS NULL;")

OLD_ROWS = """
INSERT INTO sessions (id, token_hash, state, created_at, last_seen, last_seq) VALUES
    ('s1', 'h1', 'bot', 1.0, 2.0, 2), ('s2', 'h2', 'queued', 1.0, 2.0, 0);
INSERT INTO events (session_id, seq, type, client_id, body) VALUES
    ('s1', 1, 'visitor', 'c1', '{"type":"visitor","seq":1,"text":"hello"}'),
    ('s1', 2, 'reply', NULL, '{"type":"reply","seq":2,"text":"hi"}');
INSERT INTO handoff_agents VALUES ('li', 'Li', 'agent', '["*"]', '["en"]', 3, 'x', 0, 1.0);
INSERT INTO handoff_chats (session_id, status, queue_id, lang, owner, waiting_since, enqueued_at, outcome)
    VALUES ('s1', 'closed', 'q', 'en', 'li', 1.0, 1.0, 'resolved'), ('s2', 'queued', 'q', 'en', NULL, 1.0, 1.0, NULL);
INSERT INTO handoff_tickets (session_id, chat_id, queue_id, lang, text, created_at) VALUES ('s1', 1, 'q', 'en', 'call me', 1.5);
INSERT INTO handoff_audit (ts, actor, action, session_id, detail) VALUES (1.7, 'li', 'resolve', 's1', '{"chat":1}');
-- The server wrote every rating to `ratings`, the handoff service the agent's also to
-- `handoff_ratings` (the pair: s1, 4); s2's bot rating has no twin, nor has the lone handoff one.
INSERT INTO ratings VALUES ('s1', 4, 'thanks', 10.0), ('s2', 2, NULL, 11.0);
INSERT INTO handoff_ratings (session_id, chat_id, agent, queue_id, score, comment, ts) VALUES
    ('s1', 1, 'li', 'q', 4, 'thanks', 10.2), ('s1', 1, 'li', 'q', 5, NULL, 500.0);
"""


def old_database(path, *, earliest: bool = False) -> None:
    sql = OLD_CHAT_SCHEMA + OLD_HANDOFF_SCHEMA
    if earliest:
        for later in LATER_COLUMNS:
            sql = sql.replace(later, "")
    db = sqlite3.connect(path)
    db.executescript(sql + OLD_ROWS)
    db.commit()
    db.close()


def tables(db: SQLiteDatabase) -> set[str]:
    return {r["name"] for r in db.rows("SELECT name FROM sqlite_master WHERE type = 'table'")}


def columns(db: SQLiteDatabase, table: str) -> list[str]:
    return [r["name"] for r in db.rows(f"PRAGMA table_info({table})")]


def test_an_empty_file_gets_the_whole_schema(tmp_path):
    db = open_database(tmp_path / "chat.sqlite3")
    assert db.schema_version() == LATEST == 10
    assert {"sessions", "events", "transfers", "ratings", "feedback", "handoff_agents",
            "handoff_tokens", "handoff_chats", "handoff_notes", "handoff_tickets",
            "handoff_audit", "client_buckets", "client_sockets", "nodes",
            "visitor_sockets", "agent_consoles"} <= tables(db)
    assert "handoff_ratings" not in tables(db)  # folded into `ratings` (0002)
    assert columns(db, "ratings") == ["id", "session_id", "chat_id", "agent", "queue_id", "score",
                                      "comment", "ts"]
    assert migrate(db) == LATEST  # again: nothing left to do
    db.close()


@pytest.mark.parametrize("earliest", [False, True], ids=["current", "before-retention"])
def test_a_database_of_the_old_layers_keeps_every_row(tmp_path, earliest):
    path = tmp_path / "chat.sqlite3"
    old_database(path, earliest=earliest)
    db = open_database(path)
    assert db.schema_version() == LATEST
    assert "purged_at" in columns(db, "sessions") and "ref" in columns(db, "handoff_tickets")
    assert [(r["id"], r["closed"], r["last_seq"]) for r in db.rows("SELECT * FROM sessions ORDER BY id")] == [
        ("s1", 0, 2), ("s2", 0, 0)]
    assert "state" not in columns(db, "sessions")  # s2 waits: its open chat says so (0003)
    assert db.value("SELECT count(*) FROM events") == 2
    assert [(r["status"], r["owner"]) for r in db.rows("SELECT * FROM handoff_chats ORDER BY id")] == [
        ("closed", "li"), ("queued", None)]
    assert db.value("SELECT text FROM handoff_tickets") == "call me"
    assert db.value("SELECT detail FROM handoff_audit") == '{"chat":1}'
    # One ratings table: the pair became one row with its agent; the others kept their own.
    assert [(r["session_id"], r["score"], r["comment"], r["chat_id"], r["agent"], r["queue_id"])
            for r in db.rows("SELECT * FROM ratings ORDER BY ts")] == [
        ("s1", 4, "thanks", 1, "li", "q"), ("s2", 2, None, None, None, None),
        ("s1", 5, None, 1, "li", "q")]
    assert "handoff_ratings" not in tables(db)
    assert db.rows("PRAGMA foreign_key_check") == []
    db.close()


def test_a_database_newer_than_the_code_is_refused(tmp_path):
    path = tmp_path / "chat.sqlite3"
    open_database(path).close()
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version={LATEST + 1}")
    raw.close()
    with pytest.raises(SchemaError, match="newer"):
        open_database(path)


# Rows where the two old records of who holds a conversation disagreed (what start-up code used
# to repair): s3 says queued with no open chat, s4 is closed but its chat still waits, s5 was
# closed properly, s6 talks to an agent.
DISAGREEING_ROWS = """
INSERT INTO sessions (id, token_hash, state, created_at, last_seen, last_seq) VALUES
    ('s3', 'h3', 'queued', 1.0, 2.0, 0), ('s4', 'h4', 'closed', 1.0, 2.0, 0),
    ('s5', 'h5', 'closed', 1.0, 2.0, 0), ('s6', 'h6', 'agent', 1.0, 2.0, 0);
INSERT INTO handoff_chats (session_id, status, queue_id, lang, owner, waiting_since, enqueued_at)
    VALUES ('s4', 'queued', 'q', 'en', NULL, 1.0, 1.0), ('s6', 'agent', 'q', 'en', 'li', 1.0, 1.0);
"""


def test_one_record_of_who_holds_a_conversation_repairs_what_disagreed(tmp_path):
    path = tmp_path / "chat.sqlite3"
    old_database(path)
    raw = sqlite3.connect(path)
    raw.executescript(DISAGREEING_ROWS)
    raw.commit()
    raw.close()

    db = open_database(path)
    holders = Conversations(db)
    assert {sid: holders.get(sid).state for sid in ("s1", "s2", "s3", "s4", "s5", "s6")} == {
        "s1": "bot", "s2": "queued", "s3": "bot", "s4": "closed", "s5": "closed", "s6": "agent"}
    # s4's chat was over: ended as the start-up repair ended it, with its audit row.
    assert db.row("SELECT status, outcome FROM handoff_chats WHERE session_id = 's4'") == {
        "status": "closed", "outcome": "stale"}
    assert db.value("SELECT action FROM handoff_audit WHERE session_id = 's4'") == "stale"
    db.close()


# PostgreSQL: the same migrations on an empty database of a real server (tests/conftest.py).
# Databases of the old store layers exist only as SQLite files, so the upgrades above are
# SQLite's alone.

def postgres_schema(db: PostgresDatabase) -> list[tuple]:
    return [tuple(r.values()) for r in db.rows(
        "SELECT table_name, column_name, data_type, is_nullable, column_default"
        " FROM information_schema.columns WHERE table_schema = current_schema()"
        " ORDER BY table_name, ordinal_position")]


def test_an_empty_postgres_database_gets_the_whole_schema_once(postgres_url):
    db = open_postgres(postgres_url)
    assert db.schema_version() == LATEST
    schema = postgres_schema(db)
    assert {"sessions", "events", "transfers", "ratings", "feedback", "handoff_agents",
            "handoff_tokens", "handoff_login_failures", "handoff_lockouts", "handoff_chats",
            "handoff_notes", "handoff_tickets", "handoff_audit", "schema_version",
            "service_records", "service_record_history", "service_lookup_failures",
            "service_lookup_locks", "service_documents", "appointments", "client_buckets",
            "client_sockets", "nodes", "service_guide_links", "service_inquiries",
            "visitor_sockets", "agent_consoles"} == {table for table, *_ in schema}
    assert [column for table, column, *_ in schema if table == "ratings"] == [
        "id", "session_id", "chat_id", "agent", "queue_id", "score", "comment", "ts"]
    # Times keep their fractions of a second: SQLite's REAL is double precision here.
    assert {kind for table, column, kind, *_ in schema if column in ("ts", "created_at")} == {
        "double precision"}
    assert "state" not in db.columns("sessions") and "closed" in db.columns("sessions")
    db.close()

    again = open_postgres(postgres_url)  # a second start: nothing left to do
    assert migrate(again) == LATEST
    assert postgres_schema(again) == schema
    again.close()


def test_two_processes_starting_on_an_empty_postgres_database_migrate_it_once(postgres_url):
    with ThreadPoolExecutor(2) as pool:
        opened = list(pool.map(open_postgres, [postgres_url, postgres_url]))
    assert [db.schema_version() for db in opened] == [LATEST, LATEST]
    assert opened[0].value("SELECT count(*) FROM schema_version") == 1
    for db in opened:
        db.close()


def test_a_postgres_database_newer_than_the_code_is_refused(postgres_url):
    db = open_postgres(postgres_url)
    db.set_schema_version(LATEST + 1)
    db.close()
    with pytest.raises(SchemaError, match="newer"):
        open_postgres(postgres_url)
