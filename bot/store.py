"""The conversation store: sessions, their numbered events, transfer tokens, ratings and
feedback; a facade over storage/'s repositories (storage/conversations.py, storage/ratings.py).

Resume and transfer tokens are stored as SHA-256 hashes, so a copy of the database does not let
anyone take over a conversation. The connection policy (WAL, what survives a crash) is
storage/sqlite.py's, or PostgreSQL's (storage/postgres.py) when ``CHAT_DATABASE_URL`` names one.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conversation.events import Event, Stored, parse
from storage.backends import open_database
from storage.conversations import Conversations, SessionInfo, TurnStart, TurnWrites
from storage.database import Database, SeqNotice
from storage.ratings import Ratings
from storage.sqlite import SQLiteDatabase

__all__ = ["SessionInfo", "Store", "TurnStart", "hash_token", "new_token"]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """32 random bytes (256 bits), URL-safe."""
    return secrets.token_urlsafe(32)


class Store:
    """Used from the event loop thread only. Owns its database (the one the handoff store shares:
    ``Store.database``) and closes it."""

    def __init__(self, path: Path | str, *, session_ttl_s: int = 7 * 24 * 3600) -> None:
        """``path``: the SQLite file, or a PostgreSQL URL."""
        self.path = path
        self.session_ttl_s = session_ttl_s
        self.database: Database = open_database(path)
        self.conversations = Conversations(self.database)
        self.ratings = Ratings(self.database)

    @property
    def db(self) -> sqlite3.Connection:
        """The raw SQLite connection, for tests and tools that look at the file as it is."""
        assert isinstance(self.database, SQLiteDatabase), "a raw connection of the SQLite backend only"
        return self.database.connection

    def close(self) -> None:
        self.database.close()

    # Sessions -------------------------------------------------------------------------------

    def create_session(self, *, lang: str, locked: bool, channel: str) -> tuple[SessionInfo, str]:
        token, sid = new_token(), secrets.token_hex(16)
        self.conversations.create(sid, hash_token(token), lang=lang, locked=locked, channel=channel,
                                  now=time.time())
        session = self.session(sid)
        assert session is not None
        return session, token

    def session(self, session_id: str) -> SessionInfo | None:
        return self.conversations.get(session_id)

    def session_by_token(self, token: str) -> SessionInfo | None:
        """The live session for a resume token, or None when unknown, expired or purged."""
        session = self.conversations.by_token_hash(hash_token(token))
        if session is None or session.purged_at is not None:
            return None
        if time.time() - session.last_seen > self.session_ttl_s:
            return None
        return session

    def update_session(self, session_id: str, *, context: dict | None = None,
                       **fields: Any) -> None:
        """Set the session's ``fields``, and its dialogue ``context`` when given."""
        self.conversations.update(session_id, fields, time.time(), context=context)

    def context(self, session_id: str) -> dict:
        return self.conversations.context(session_id)

    def turn_start(self, session_id: str, seq: int) -> TurnStart | None:
        """The session, its dialogue context and whether event ``seq`` has had a reply, read at
        once (one round trip where three were)."""
        return self.conversations.turn_start(session_id, seq)

    def save_context(self, session_id: str, context: dict) -> None:
        self.conversations.save_context(session_id, context)

    # Events -----------------------------------------------------------------------------------

    def append_event(self, session_id: str, event: Event, ts: str, *,
                     client_id: str | None = None, notice: SeqNotice | None = None) -> Stored:
        """Number the event with the session's next seq and store it in one transaction, with
        its ``notice`` to the other server processes."""
        stored = self.conversations.append_event(session_id, {**event.to_wire(), "ts": ts},
                                                 client_id=client_id, now=time.time(),
                                                 notice=notice)
        return Stored(event, seq=stored["seq"], ts=ts)

    def record_turn(self, session_id: str, turn: TurnWrites, events: Sequence[Event], ts: str, *,
                    notices: list[SeqNotice | None]) -> list[Stored]:
        """The bot's turn at once: ``turn``'s writes and its replies, stored (each with its
        notice) in one transaction."""
        stored = self.conversations.record_turn(
            session_id, turn, [{**event.to_wire(), "ts": ts} for event in events], time.time(),
            notices)
        return [Stored(event, seq=s["seq"], ts=ts) for event, s in zip(events, stored, strict=True)]

    def message_start(self, session_id: str,
                      client_id: str) -> tuple[SessionInfo, Stored | None] | None:
        """The session, and the event already stored under ``client_id`` (a resend), read at
        once; None when there is no such session."""
        start = self.conversations.message_start(session_id, client_id)
        if start is None:
            return None
        return start.session, (parse(start.resent) if start.resent is not None else None)

    def set_event_meta(self, session_id: str, seq: int, meta: dict) -> None:
        """Attach the bot's reading (NLU) to a stored visitor message, for the agent console."""
        self.conversations.set_event_meta(session_id, seq, meta)

    def transcript(self, session_id: str, after_seq: int = 0) -> list[Stored]:
        """The conversation's events, typed; none once its content was purged (what is left of
        them, types and times, is no event anyone is shown)."""
        session = self.session(session_id)
        if session is None or session.purged_at is not None:
            return []
        return [parse(e) for e in self.conversations.events(session_id, after_seq)]

    # Transfer tokens ("continue on your phone") -------------------------------------------------

    def create_transfer(self, session_id: str, ttl_s: int) -> str:
        token = new_token()
        self.conversations.add_transfer(hash_token(token), session_id, time.time() + ttl_s)
        return token

    def transfer_live(self, token: str) -> bool:
        """Whether a transfer token exists, is unused and unexpired (without using it)."""
        return self.conversations.transfer_live(hash_token(token), time.time())

    def consume_transfer(self, token: str) -> str | None:
        """The session id for an unused, unexpired token, marking it used; otherwise None."""
        return self.conversations.consume_transfer(hash_token(token), time.time())

    def rotate_token(self, session_id: str) -> str:
        """A fresh resume token for a session (on every resume; the old one stops working)."""
        token = new_token()
        self.conversations.set_token_hash(session_id, hash_token(token))
        return token

    # Ratings and feedback -----------------------------------------------------------------------

    def add_rating(self, session_id: str, score: int, comment: str | None) -> None:
        """A rating of the bot (the handoff store records ratings of agents' chats)."""
        self.ratings.add(session_id, score, comment, time.time())

    def add_feedback(self, session_id: str, seq: int, value: str) -> None:
        self.conversations.add_feedback(session_id, seq, value, time.time())
