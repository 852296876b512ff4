"""Handoff chats (queue state and ownership) and agents' notes on them.

Ownership changes are single conditional UPDATEs (``WHERE status = 'queued' AND owner IS NULL``
and the like): of several simultaneous claims of a waiting chat exactly one changes a row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from storage.database import Database, Row


@dataclass
class Chat:
    id: int
    session_id: str
    status: str
    queue_id: str
    lang: str
    business_option: str | None
    region: str | None
    city: str | None
    overseas: bool
    summary: str
    reason: str
    rule: str
    owner: str | None
    waiting_since: float
    enqueued_at: float
    claimed_at: float | None
    ended_at: float | None
    outcome: str | None
    leaving_message: bool
    purged_at: float | None = None  # the retention purge removed its summary and notes then


def _chat(row: Row) -> Chat:
    return Chat(**{**row, "overseas": bool(row["overseas"]),
                   "leaving_message": bool(row["leaving_message"])})


@dataclass(frozen=True)
class NewChat:
    """Where a chat waits and what the agent sees of it before reading the transcript."""

    queue_id: str
    lang: str
    business_option: str | None
    region: str | None
    city: str | None
    overseas: bool
    summary: str
    reason: str
    rule: str


class Chats:
    def __init__(self, db: Database) -> None:
        self.db = db

    def open(self, session_id: str, new: NewChat, now: float) -> int:
        with self.db.transaction():
            found = self.db.value(
                "INSERT INTO handoff_chats (session_id, status, queue_id, lang, business_option, region,"
                " city, overseas, summary, reason, rule, waiting_since, enqueued_at)"
                " VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (session_id, new.queue_id, new.lang, new.business_option, new.region, new.city,
                 int(new.overseas), new.summary, new.reason, new.rule, now, now))
        return int(found)

    def get(self, chat_id: int) -> Chat | None:
        row = self.db.row("SELECT * FROM handoff_chats WHERE id = ?", (chat_id,))
        return _chat(row) if row else None

    def active_of(self, session_id: str) -> Chat | None:
        row = self.db.row("SELECT * FROM handoff_chats WHERE session_id = ?"
                          " AND status IN ('queued', 'agent')", (session_id,))
        return _chat(row) if row else None

    def last_of(self, session_id: str) -> Chat | None:
        row = self.db.row("SELECT * FROM handoff_chats WHERE session_id = ? ORDER BY id DESC LIMIT 1",
                          (session_id,))
        return _chat(row) if row else None

    def of_session(self, session_id: str) -> list[Chat]:
        return [_chat(r) for r in self.db.rows("SELECT * FROM handoff_chats WHERE session_id = ?"
                                               " ORDER BY id", (session_id,))]

    def active(self) -> list[Chat]:
        return [_chat(r) for r in self.db.rows(
            "SELECT * FROM handoff_chats WHERE status IN ('queued', 'agent') ORDER BY waiting_since, id")]

    def waiting_rows(self) -> list[tuple[int, str, str, float]]:
        rows = self.db.rows("SELECT id, queue_id, lang, waiting_since FROM handoff_chats"
                            " WHERE status = 'queued' ORDER BY waiting_since, id")
        return [(r["id"], r["queue_id"], r["lang"], r["waiting_since"]) for r in rows]

    def owned_rows(self) -> list[tuple[int, str, str]]:
        rows = self.db.rows("SELECT id, owner, queue_id FROM handoff_chats WHERE status = 'agent'"
                            " ORDER BY id")
        return [(r["id"], r["owner"], r["queue_id"]) for r in rows]

    def queue_stats(self) -> dict[str, tuple[int, float]]:
        rows = self.db.rows("SELECT queue_id, count(*) AS n, min(waiting_since) AS oldest"
                            " FROM handoff_chats WHERE status = 'queued' GROUP BY queue_id")
        return {r["queue_id"]: (r["n"], r["oldest"]) for r in rows}

    def handle_times(self, queue_id: str, limit: int) -> list[float]:
        rows = self.db.rows(
            "SELECT ended_at - claimed_at AS took FROM handoff_chats WHERE queue_id = ? AND outcome IN"
            " ('resolved', 'handed_back') AND claimed_at IS NOT NULL ORDER BY ended_at DESC LIMIT ?",
            (queue_id, limit))
        return [r["took"] for r in rows]

    # Ownership --------------------------------------------------------------------------------

    def _update(self, sql: str, params: tuple[Any, ...]) -> bool:
        with self.db.transaction():
            return self.db.execute(sql, params) == 1

    def claim(self, chat_id: int, username: str, now: float) -> bool:
        return self._update(
            "UPDATE handoff_chats SET owner = ?, status = 'agent', claimed_at = ?, leaving_message = 0"
            " WHERE id = ? AND status = 'queued' AND owner IS NULL", (username, now, chat_id))

    def move_to_queue(self, chat_id: int, owner: str | None, queue_id: str, now: float) -> bool:
        return self._update(
            "UPDATE handoff_chats SET owner = NULL, status = 'queued', queue_id = ?, enqueued_at = ?,"
            " claimed_at = NULL WHERE id = ? AND status = 'agent' AND owner IS NOT DISTINCT FROM ?",
            (queue_id, now, chat_id, owner))

    def give_to(self, chat_id: int, owner: str | None, new_owner: str, now: float) -> bool:
        return self._update(
            "UPDATE handoff_chats SET owner = ?, claimed_at = ? WHERE id = ? AND status = 'agent'"
            " AND owner = ?", (new_owner, now, chat_id, owner))

    def end(self, chat_id: int, *, status: str, outcome: str, now: float,
            owner: str | None = None, check_owner: bool = False) -> bool:
        sql = ("UPDATE handoff_chats SET status = ?, outcome = ?, ended_at = ?, leaving_message = 0"
               " WHERE id = ? AND status IN ('queued', 'agent')")
        if check_owner:
            return self._update(sql + " AND owner IS NOT DISTINCT FROM ?",
                                (status, outcome, now, chat_id, owner))
        return self._update(sql, (status, outcome, now, chat_id))

    def set_leaving_message(self, chat_id: int, on: bool) -> None:
        self._update("UPDATE handoff_chats SET leaving_message = ? WHERE id = ?", (int(on), chat_id))

    # Notes and search -------------------------------------------------------------------------

    def add_note(self, chat_id: int, author: str, kind: str, text: str, now: float) -> None:
        with self.db.transaction():
            self.db.execute("INSERT INTO handoff_notes (chat_id, ts, author, kind, text)"
                            " VALUES (?, ?, ?, ?, ?)", (chat_id, now, author, kind, text))

    def notes(self, session_id: str) -> list[Row]:
        return self.db.rows(
            "SELECT n.ts, n.author, n.kind, n.text FROM handoff_notes n JOIN handoff_chats c"
            " ON c.id = n.chat_id WHERE c.session_id = ? ORDER BY n.id", (session_id,))

    def search(self, query: str, limit: int = 200) -> list[Row]:
        """Chats whose summary, or a visitor message or reply of whose conversation, contains
        ``query``, newest first; ``hit`` is the body of the first such event (None if only the
        summary matched)."""
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        text, like = self.db.dialect.json_get("e.body", "text"), self.db.dialect.like
        return self.db.rows(
            "SELECT * FROM (SELECT c.*, (SELECT body FROM events e WHERE e.session_id = c.session_id"
            f"   AND e.type IN ('visitor', 'reply') AND {text} {like} ? ESCAPE '\\'"
            "   ORDER BY e.seq LIMIT 1) AS hit FROM handoff_chats c) AS found"
            f" WHERE summary {like} ? ESCAPE '\\' OR hit IS NOT NULL ORDER BY id DESC LIMIT ?",
            (pattern, pattern, limit))


def snippet(row: Row) -> str:
    """The text a search hit shows: the matching message, or the summary."""
    return json.loads(row["hit"]).get("text", "") if row.get("hit") else row["summary"]
