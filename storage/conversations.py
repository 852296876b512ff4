"""Conversations: sessions, their numbered events, transfer tokens and message feedback.

Tokens arrive here already hashed (bot/store.py hashes them): the database never holds a token
that would let a copy of it take over a conversation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from storage.database import Database, Row


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


# Who holds the conversation is read, never stored here: its open handoff chat if it has one
# (queued or agent), else closed or the bot's (conversation/owner.py is the one writer of both).
HOLDER = ("COALESCE((SELECT c.status FROM handoff_chats c WHERE c.session_id = sessions.id"
          " AND c.status IN ('queued', 'agent')),"
          " CASE WHEN sessions.closed = 1 THEN 'closed' ELSE 'bot' END) AS state")
SESSION_COLUMNS = ("id, lang, script, lang_locked, channel, created_at, last_seen, last_seq,"
                   f" purged_at, {HOLDER}")
UPDATABLE = frozenset({"lang", "script", "lang_locked", "channel"})


@dataclass(frozen=True)
class TurnStart:
    """What the bot's turn reads before it answers a message, in one query."""

    session: SessionInfo
    context: dict
    replied: bool  # anyone (bot, agent, system) replied after the message


@dataclass(frozen=True)
class MessageStart:
    """What a visitor's message reads before it is stored, in one query."""

    session: SessionInfo
    resent: dict | None  # the event already stored under the message's client id: a resend


def _session(row: Row | None) -> SessionInfo | None:
    if row is None:
        return None
    return SessionInfo(**{**row, "lang_locked": bool(row["lang_locked"])})


class Conversations:
    def __init__(self, db: Database) -> None:
        self.db = db

    # Sessions ---------------------------------------------------------------------------------

    # A write of one statement is atomic by itself: outside a transaction it commits alone (no
    # BEGIN and COMMIT around it, two round trips fewer on PostgreSQL), inside the caller's it is
    # part of it.

    def create(self, session_id: str, token_hash: str, *, lang: str, locked: bool, channel: str,
               now: float) -> None:
        self.db.execute(
            "INSERT INTO sessions (id, token_hash, lang, lang_locked, channel, created_at, last_seen)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (session_id, token_hash, lang, int(locked), channel, now, now))

    def get(self, session_id: str) -> SessionInfo | None:
        return _session(self.db.row(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?",
                                    (session_id,)))

    def by_token_hash(self, token_hash: str) -> SessionInfo | None:
        return _session(self.db.row(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = ?",
                                    (token_hash,)))

    def update(self, session_id: str, fields: dict[str, Any], now: float, *,
               context: dict | None = None) -> None:
        """Set ``fields`` (and ``context``, the dialogue context: the bot's turn writes both, in
        one statement)."""
        if not fields.keys() <= UPDATABLE:
            raise ValueError(f"cannot update {sorted(fields.keys() - UPDATABLE)}")
        values = [int(v) if isinstance(v, bool) else v for v in fields.values()]
        names = list(fields)
        if context is not None:
            names.append("context")
            values.append(json.dumps(context, ensure_ascii=False))
        assignments = ", ".join(f"{name} = ?" for name in names)
        self.db.execute(f"UPDATE sessions SET {assignments}, last_seen = ? WHERE id = ?",
                        (*values, now, session_id))

    def set_closed(self, session_id: str, closed: bool) -> None:
        """Whether the conversation was ended (by the visitor, or an agent's resolving it)."""
        with self.db.transaction():
            self.db.execute("UPDATE sessions SET closed = ? WHERE id = ?", (int(closed), session_id))

    def set_token_hash(self, session_id: str, token_hash: str) -> None:
        with self.db.transaction():
            self.db.execute("UPDATE sessions SET token_hash = ? WHERE id = ?", (token_hash, session_id))

    def turn_start(self, session_id: str, seq: int) -> TurnStart | None:
        row = self.db.row(
            f"SELECT {SESSION_COLUMNS}, context, EXISTS (SELECT 1 FROM events e"
            " WHERE e.session_id = sessions.id AND e.seq > ? AND e.type = 'reply') AS replied"
            " FROM sessions WHERE id = ?", (seq, session_id))
        if row is None:
            return None
        context, replied = row.pop("context"), bool(row.pop("replied"))
        session = _session(row)
        assert session is not None
        return TurnStart(session, json.loads(context) if context is not None else {}, replied)

    def context(self, session_id: str) -> dict:
        found = self.db.value("SELECT context FROM sessions WHERE id = ?", (session_id,))
        return json.loads(found) if found is not None else {}

    def save_context(self, session_id: str, context: dict) -> None:
        self.db.execute("UPDATE sessions SET context = ? WHERE id = ?",
                        (json.dumps(context, ensure_ascii=False), session_id))

    # Events -----------------------------------------------------------------------------------

    def append_event(self, session_id: str, event: dict, *, client_id: str | None,
                     now: float) -> dict:
        """Number the event with the session's next seq and store it, in one transaction (the
        caller's, when one is open)."""
        with self.db.transaction(join=True):
            # Counting up first locks the session's row (PostgreSQL), so two writers at once
            # take seqs one after the other instead of the same one.
            seq = self.db.value("UPDATE sessions SET last_seq = last_seq + 1, last_seen = ?"
                                " WHERE id = ? RETURNING last_seq", (now, session_id))
            if seq is None:
                raise LookupError(f"no session {session_id!r}")
            stored = {**event, "seq": seq}
            self.db.execute(
                "INSERT INTO events (session_id, seq, type, client_id, body) VALUES (?, ?, ?, ?, ?)",
                (session_id, stored["seq"], stored["type"], client_id,
                 json.dumps(stored, ensure_ascii=False)))
        return stored

    def message_start(self, session_id: str, client_id: str) -> MessageStart | None:
        """The session and the event stored under a client id, if any (one round trip where
        there were three: the session as the frame arrived, the resend check, the session)."""
        row = self.db.row(
            f"SELECT {SESSION_COLUMNS}, (SELECT body FROM events e WHERE e.session_id = sessions.id"
            " AND e.client_id = ?) AS resent FROM sessions WHERE id = ?", (client_id, session_id))
        if row is None:
            return None
        resent = row.pop("resent")
        session = _session(row)
        assert session is not None
        return MessageStart(session, json.loads(resent) if resent is not None else None)

    def set_event_meta(self, session_id: str, seq: int, meta: dict) -> None:
        self.db.execute(
            f"UPDATE events SET body = {self.db.dialect.json_set('body', 'meta')}"
            " WHERE session_id = ? AND seq = ?",
            (json.dumps(meta, ensure_ascii=False), session_id, seq))

    def events(self, session_id: str, after_seq: int = 0) -> list[dict]:
        rows = self.db.rows("SELECT body FROM events WHERE session_id = ? AND seq > ? ORDER BY seq",
                            (session_id, after_seq))
        return [json.loads(row["body"]) for row in rows]

    # Transfer tokens and feedback ---------------------------------------------------------------

    def add_transfer(self, token_hash: str, session_id: str, expires_at: float) -> None:
        with self.db.transaction():
            self.db.execute("INSERT INTO transfers (token_hash, session_id, expires_at) VALUES (?, ?, ?)",
                            (token_hash, session_id, expires_at))

    def transfer_live(self, token_hash: str, now: float) -> bool:
        return self.db.row("SELECT 1 AS one FROM transfers WHERE token_hash = ? AND used = 0"
                           " AND expires_at > ?", (token_hash, now)) is not None

    def consume_transfer(self, token_hash: str, now: float) -> str | None:
        with self.db.transaction():
            return self.db.value("UPDATE transfers SET used = 1 WHERE token_hash = ? AND used = 0"
                                 " AND expires_at > ? RETURNING session_id", (token_hash, now))

    def add_feedback(self, session_id: str, seq: int, value: str, now: float) -> None:
        with self.db.transaction():
            self.db.execute("INSERT INTO feedback (session_id, seq, value, ts) VALUES (?, ?, ?, ?)",
                            (session_id, seq, value, now))
