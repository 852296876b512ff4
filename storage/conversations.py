"""Conversations: sessions, their numbered events, transfer tokens and message feedback.

Tokens arrive here already hashed (bot/store.py hashes them): the database never holds a token
that would let a copy of it take over a conversation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from storage.database import Database, Row, SeqNotice


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


def _body_head(event: dict) -> str:
    """An event's stored JSON up to its seq (the database's to give), which comes last:
    the body is this, the seq, and ``}``."""
    head = json.dumps({**event, "seq": 0}, ensure_ascii=False)
    assert "seq" not in event and head.endswith('"seq": 0}'), "an event has no seq yet"
    return head[:-2]


@dataclass(frozen=True)
class TurnWrites:
    """What the bot's turn changes besides its replies: the session's language and dialogue
    context, and its reading (NLU) attached to the visitor's message it answered."""

    lang: str
    script: str
    lang_locked: bool
    context: dict
    read_seq: int | None = None
    reading: dict | None = None


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
                     now: float, notice: SeqNotice | None = None) -> dict:
        """Number the event with the session's next seq and store it, in one transaction (the
        caller's, when one is open); ``notice``: announce it, in that transaction, with its seq.
        On PostgreSQL all of it is one statement (one round trip where there were five)."""
        if self.db.dialect.writable_ctes:
            seq = self._append_at_once(session_id, event, client_id, now, notice)
        else:
            assert notice is None, "only a database server announces"
            seq = self._append(session_id, event, client_id, now)
        return {**event, "seq": seq}

    def _append(self, session_id: str, event: dict, client_id: str | None, now: float) -> int:
        with self.db.transaction(join=True):
            # Counting up first locks the session's row (PostgreSQL), so two writers at once
            # take seqs one after the other instead of the same one.
            seq = self.db.value("UPDATE sessions SET last_seq = last_seq + 1, last_seen = ?"
                                " WHERE id = ? RETURNING last_seq", (now, session_id))
            if seq is None:
                raise LookupError(f"no session {session_id!r}")
            self.db.execute(
                "INSERT INTO events (session_id, seq, type, client_id, body) VALUES (?, ?, ?, ?, ?)",
                (session_id, seq, event["type"], client_id, f"{_body_head(event)}{seq}}}"))
        return seq

    def _append_at_once(self, session_id: str, event: dict, client_id: str | None, now: float,
                        notice: SeqNotice | None) -> int:
        # ``_append``'s steps (the session's row locked by counting up first) as one statement:
        # atomic alone, so it needs no BEGIN/COMMIT outside a transaction.
        announce = f", {self._notify('CAST(? AS text)')}" if notice else ""
        seq = self.db.value(
            "WITH numbered AS (UPDATE sessions SET last_seq = last_seq + 1, last_seen = ?"
            " WHERE id = ? RETURNING id, last_seq AS seq),"
            " stored AS (INSERT INTO events (session_id, seq, type, client_id, body)"
            " SELECT id, seq, ?, ?, CAST(? AS text) || seq || '}' FROM numbered)"
            f" SELECT seq{announce} FROM numbered",
            (now, session_id, event["type"], client_id, _body_head(event),
             *((notice.channel, notice.head, notice.tail) if notice else ())))
        if seq is None:
            raise LookupError(f"no session {session_id!r}")
        return seq

    def _notify(self, tail: str) -> str:
        """The announcement of the event numbered ``seq``: its channel and head are the next two
        parameters, ``tail`` the expression of what follows the seq."""
        return self.db.dialect.notify("CAST(? AS text)", f"CAST(? AS text) || seq || {tail}")

    def record_turn(self, session_id: str, turn: TurnWrites, events: list[dict], now: float,
                    notices: list[SeqNotice | None]) -> list[dict]:
        """The bot's turn in one transaction: ``turn``'s writes, then ``events`` (its replies)
        numbered in order and stored, each announced with its notice. On PostgreSQL one
        statement, whatever the number of replies (seven round trips or more where there were)."""
        if not self.db.dialect.writable_ctes:
            assert not any(notices), "only a database server announces"
            with self.db.transaction(join=True):
                if turn.read_seq is not None and turn.reading:
                    self.set_event_meta(session_id, turn.read_seq, turn.reading)
                self.update(session_id, {"lang": turn.lang, "script": turn.script,
                                         "lang_locked": turn.lang_locked}, now, context=turn.context)
                return [self.append_event(session_id, e, client_id=None, now=now) for e in events]
        first = self._record_at_once(session_id, turn, events, now, notices)
        return [{**event, "seq": first + i} for i, event in enumerate(events)]

    def _record_at_once(self, session_id: str, turn: TurnWrites, events: list[dict], now: float,
                        notices: list[SeqNotice | None]) -> int:
        """``record_turn`` as one statement; the seq the first reply has (or would have)."""
        reading_params: tuple[object, ...]
        reading, reading_params = "", ()
        if turn.read_seq is not None and turn.reading:
            reading = (f"reading AS (UPDATE events SET body = {self.db.dialect.json_set('body', 'meta')}"
                       " WHERE session_id = ? AND seq = ?), ")
            reading_params = (json.dumps(turn.reading, ensure_ascii=False), session_id, turn.read_seq)
        notice = notices[0] if notices else None
        # One channel and head (this node, this session) for every reply; only the tails differ.
        assert len({(n.channel, n.head) if n else None for n in notices}) <= 1, \
            "one bus announces them all, for one session"
        numbered = (
            f"WITH {reading}numbered AS (UPDATE sessions SET lang = ?, script = ?, lang_locked = ?,"
            " context = ?, last_seen = ?, last_seq = last_seq + ? WHERE id = ?"
            " RETURNING id, last_seq - ? + 1 AS first)")
        params = (*reading_params, turn.lang, turn.script, int(turn.lang_locked),
                  json.dumps(turn.context, ensure_ascii=False), now, len(events), session_id,
                  len(events))
        if not events:
            first = self.db.value(f"{numbered} SELECT first FROM numbered", params)
        else:
            # The replies, numbered from ``first`` in order, each row with its body and tail.
            announce = f", {self._notify('tail')}" if notice else ""
            found = self.db.rows(
                f"{numbered}, replies AS (SELECT id, first + i - 1 AS seq, kind, head, tail"
                " FROM numbered, unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[]))"
                " WITH ORDINALITY AS r(kind, head, tail, i)),"
                " stored AS (INSERT INTO events (session_id, seq, type, client_id, body)"
                " SELECT id, seq, kind, NULL, head || seq || '}' FROM replies)"
                f" SELECT seq{announce} FROM replies ORDER BY seq",
                (*params, [e["type"] for e in events], [_body_head(e) for e in events],
                 [n.tail if n else "" for n in notices],
                 *((notice.channel, notice.head) if notice else ())))
            first = found[0]["seq"] if found else None
        if first is None:
            raise LookupError(f"no session {session_id!r}")
        return first

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
