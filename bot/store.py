"""The conversation store: sessions, their numbered events, and transfer tokens, in SQLite.

WAL mode with ``synchronous=NORMAL``: a committed transaction survives the process being killed
(SIGKILL), which is the promise behind every ``ack``. Only a power loss could drop the last commits.
Resume and transfer tokens are stored as SHA-256 hashes, so a copy of the database does not let
anyone take over a conversation.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    token_hash TEXT UNIQUE NOT NULL,
    lang TEXT,
    script TEXT,
    lang_locked INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'bot',
    channel TEXT NOT NULL DEFAULT 'web',
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0,
    context TEXT NOT NULL DEFAULT '{}',
    purged_at REAL                     -- when the retention purge removed its content
);
CREATE TABLE IF NOT EXISTS events (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    client_id TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS events_client_id
    ON events(session_id, client_id) WHERE client_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS transfers (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    expires_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS ratings (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    score INTEGER NOT NULL,
    comment TEXT,
    ts REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    seq INTEGER NOT NULL,
    value TEXT NOT NULL,
    ts REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS transfers_session ON transfers(session_id);
CREATE INDEX IF NOT EXISTS ratings_session ON ratings(session_id);
"""
# Made after the migration below: the conversations the retention purge has still to look at.
RETENTION_INDEX = """
CREATE INDEX IF NOT EXISTS sessions_unpurged ON sessions(last_seen, id) WHERE purged_at IS NULL;
"""


def create_schema(db: sqlite3.Connection) -> None:
    """The tables, and the columns a database from an earlier version lacks. Every connection
    zeroes what it deletes or overwrites (``secure_delete``), so text removed by the retention
    purge, or replaced (the dialogue context), does not linger in the file's free space."""
    db.execute("PRAGMA secure_delete=ON")
    db.executescript(SCHEMA)
    columns = {row[1] for row in db.execute("PRAGMA table_info(sessions)")}
    if "purged_at" not in columns:  # a database from before the retention purge
        db.execute("ALTER TABLE sessions ADD COLUMN purged_at REAL")
    db.executescript(RETENTION_INDEX)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """32 random bytes (256 bits), URL-safe."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class SessionInfo:
    id: str
    lang: str | None
    script: str | None
    lang_locked: bool
    state: str
    channel: str
    created_at: float
    last_seen: float
    last_seq: int
    purged_at: float | None = None  # the retention purge removed its content then


_SESSION_COLUMNS = ("id, lang, script, lang_locked, state, channel, created_at, last_seen, last_seq,"
                    " purged_at")


def _session(row: tuple | None) -> SessionInfo | None:
    if row is None:
        return None
    sid, lang, script, locked, state, channel, created, seen, last_seq, purged_at = row
    return SessionInfo(sid, lang, script, bool(locked), state, channel, created, seen, last_seq,
                       purged_at)


class Store:
    """Synchronous SQLite access; used from the event loop thread only."""

    def __init__(self, path: Path, *, session_ttl_s: int = 7 * 24 * 3600) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.session_ttl_s = session_ttl_s
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        create_schema(self.db)

    def close(self) -> None:
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.close()

    # Sessions -------------------------------------------------------------------------------

    def create_session(self, *, lang: str, locked: bool, channel: str) -> tuple[SessionInfo, str]:
        token, now = new_token(), time.time()
        sid = secrets.token_hex(16)
        self.db.execute(
            "INSERT INTO sessions (id, token_hash, lang, lang_locked, channel, created_at, last_seen)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (sid, hash_token(token), lang, int(locked), channel, now, now),
        )
        session = self.session(sid)
        assert session is not None
        return session, token

    def session(self, session_id: str) -> SessionInfo | None:
        row = self.db.execute(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        return _session(row)

    def session_by_token(self, token: str) -> SessionInfo | None:
        """The live session for a resume token, or None when unknown, expired or purged."""
        row = self.db.execute(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE token_hash = ?", (hash_token(token),)
        ).fetchone()
        session = _session(row)
        if session is None or session.purged_at is not None:
            return None
        if time.time() - session.last_seen > self.session_ttl_s:
            return None
        return session

    def update_session(self, session_id: str, **fields: Any) -> None:
        allowed = {"lang", "script", "lang_locked", "state", "channel"}
        if not fields.keys() <= allowed:
            raise ValueError(f"cannot update {sorted(fields.keys() - allowed)}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        values = [int(v) if isinstance(v, bool) else v for v in fields.values()]
        self.db.execute(
            f"UPDATE sessions SET {assignments}, last_seen = ? WHERE id = ?",
            (*values, time.time(), session_id),
        )

    def context(self, session_id: str) -> dict:
        row = self.db.execute("SELECT context FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return json.loads(row[0]) if row else {}

    def save_context(self, session_id: str, context: dict) -> None:
        self.db.execute(
            "UPDATE sessions SET context = ? WHERE id = ?",
            (json.dumps(context, ensure_ascii=False), session_id),
        )

    # Events -----------------------------------------------------------------------------------

    def append_event(self, session_id: str, event: dict, *, client_id: str | None = None) -> dict:
        """Number the event with the session's next seq and store it in one transaction."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            (last_seq,) = self.db.execute(
                "SELECT last_seq FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            stored = {**event, "seq": last_seq + 1}
            self.db.execute(
                "INSERT INTO events (session_id, seq, type, client_id, body) VALUES (?, ?, ?, ?, ?)",
                (session_id, stored["seq"], stored["type"], client_id,
                 json.dumps(stored, ensure_ascii=False)),
            )
            self.db.execute(
                "UPDATE sessions SET last_seq = ?, last_seen = ? WHERE id = ?",
                (stored["seq"], time.time(), session_id),
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return stored

    def event_by_client_id(self, session_id: str, client_id: str) -> dict | None:
        row = self.db.execute(
            "SELECT body FROM events WHERE session_id = ? AND client_id = ?", (session_id, client_id)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def set_event_meta(self, session_id: str, seq: int, meta: dict) -> None:
        """Attach the bot's reading (NLU) to a stored visitor message, for the agent console."""
        self.db.execute(
            "UPDATE events SET body = json_set(body, '$.meta', json(?)) WHERE session_id = ? AND seq = ?",
            (json.dumps(meta, ensure_ascii=False), session_id, seq),
        )

    def replied_after(self, session_id: str, seq: int) -> bool:
        """Whether anyone (bot, agent, system) replied after event ``seq``."""
        row = self.db.execute(
            "SELECT 1 FROM events WHERE session_id = ? AND seq > ? AND type = 'reply' LIMIT 1",
            (session_id, seq),
        ).fetchone()
        return row is not None

    def events(self, session_id: str, after_seq: int = 0) -> list[dict]:
        rows = self.db.execute(
            "SELECT body FROM events WHERE session_id = ? AND seq > ? ORDER BY seq",
            (session_id, after_seq),
        )
        return [json.loads(body) for (body,) in rows]

    # Transfer tokens ("continue on your phone") -------------------------------------------------

    def create_transfer(self, session_id: str, ttl_s: int) -> str:
        token = new_token()
        self.db.execute(
            "INSERT INTO transfers (token_hash, session_id, expires_at) VALUES (?, ?, ?)",
            (hash_token(token), session_id, time.time() + ttl_s),
        )
        return token

    def transfer_live(self, token: str) -> bool:
        """Whether a transfer token exists, is unused and unexpired (without using it)."""
        return self.db.execute(
            "SELECT 1 FROM transfers WHERE token_hash = ? AND used = 0 AND expires_at > ?",
            (hash_token(token), time.time())).fetchone() is not None

    def consume_transfer(self, token: str) -> str | None:
        """The session id for an unused, unexpired token, marking it used; otherwise None."""
        cursor = self.db.execute(
            "UPDATE transfers SET used = 1 WHERE token_hash = ? AND used = 0 AND expires_at > ?"
            " RETURNING session_id",
            (hash_token(token), time.time()),
        )
        row = cursor.fetchone()
        return row[0] if row else None

    def rotate_token(self, session_id: str) -> str:
        """A fresh resume token for a session (used when a phone takes the session over)."""
        token = new_token()
        self.db.execute(
            "UPDATE sessions SET token_hash = ? WHERE id = ?", (hash_token(token), session_id)
        )
        return token

    # Ratings and feedback -----------------------------------------------------------------------

    def add_rating(self, session_id: str, score: int, comment: str | None) -> None:
        self.db.execute(
            "INSERT INTO ratings (session_id, score, comment, ts) VALUES (?, ?, ?, ?)",
            (session_id, score, comment, time.time()),
        )

    def add_feedback(self, session_id: str, seq: int, value: str) -> None:
        self.db.execute(
            "INSERT INTO feedback (session_id, seq, value, ts) VALUES (?, ?, ?, ?)",
            (session_id, seq, value, time.time()),
        )
