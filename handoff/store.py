"""The handoff module's data: agents, agent tokens (hashed), login failures/lockouts, handoff
chats (queue state and ownership), notes, tickets, ratings of agents and the audit log; a facade
over storage/'s repositories, in the same database as the conversations (bot/store.py).

Every method is one short transaction, or part of the caller's (``database.transaction()``), so
nothing is held across an ``await`` by the asyncio code that calls it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from storage.agents import Agent, Agents
from storage.audit import Audit
from storage.backends import open_database
from storage.chats import Chat, Chats, snippet
from storage.database import Database, IntegrityError
from storage.ratings import Rated, Ratings
from storage.sqlite import SQLiteDatabase
from storage.tickets import Tickets, find_ticket_ref

__all__ = ["Agent", "Chat", "HandoffStore", "find_ticket_ref"]


class HandoffStore:
    """Opens its own database from a path (and closes it), or shares the conversation store's
    (``Store.database``), so that a handoff and the conversation's state change together. Chats
    are only read here: conversation/owner.py writes who holds them."""

    def __init__(self, database: Path | str | Database) -> None:
        """``database``: an open one to share, a SQLite file or a PostgreSQL URL to open."""
        self.owns_database = not isinstance(database, Database)
        self.database = database if isinstance(database, Database) else open_database(database)
        self.agents_repo = Agents(self.database)
        self.chats_repo = Chats(self.database)
        self.tickets_repo = Tickets(self.database)
        self.ratings_repo = Ratings(self.database)
        self.audit_repo = Audit(self.database)

    @property
    def db(self) -> sqlite3.Connection:
        """The raw SQLite connection, for tests and tools that look at the file as it is."""
        assert isinstance(self.database, SQLiteDatabase), "a raw connection of the SQLite backend only"
        return self.database.connection

    def close(self) -> None:
        if self.owns_database:
            self.database.close()

    # ------------------------------------------------------------------ agents
    def add_agent(self, agent: Agent) -> None:
        try:
            self.agents_repo.add(agent, time.time())
        except IntegrityError as exc:
            raise ValueError(f"agent {agent.username!r} already exists") from exc

    def agent(self, username: str) -> Agent | None:
        return self.agents_repo.get(username)

    def agents(self) -> list[Agent]:
        return self.agents_repo.all()

    def set_disabled(self, username: str, disabled: bool) -> bool:
        return self.agents_repo.set_disabled(username, disabled)

    def set_password(self, username: str, password_hash: str) -> bool:
        return self.agents_repo.set_password(username, password_hash)

    # ------------------------------------------------------------------ tokens and lockout
    def add_token(self, token_hash: str, username: str, expires_at: float) -> None:
        self.agents_repo.add_token(token_hash, username, time.time(), expires_at)

    def token_user(self, token_hash: str, now: float) -> str | None:
        return self.agents_repo.token_user(token_hash, now)

    def revoke_token(self, token_hash: str) -> None:
        self.agents_repo.revoke_token(token_hash)

    def locked_until(self, username: str) -> float:
        return self.agents_repo.locked_until(username)

    def record_failure(self, username: str, now: float, window_s: float) -> int:
        """Store one failed login; return how many failures fall inside the window. Failures
        older than the window are purged, for every account."""
        return self.agents_repo.record_failure(username, now, window_s)

    def failures(self, username: str, now: float, window_s: float) -> tuple[int, float]:
        """Failed logins of an account inside the window, and the time of the last one."""
        return self.agents_repo.failures(username, now, window_s)

    def lock(self, username: str, until: float) -> None:
        self.agents_repo.lock(username, until)

    def clear_failures(self, username: str) -> None:
        self.agents_repo.clear_failures(username)

    # ------------------------------------------------------------------ chats
    def chat(self, chat_id: int) -> Chat | None:
        return self.chats_repo.get(chat_id)

    def _chat(self, chat_id: int) -> Chat:
        chat = self.chats_repo.get(chat_id)
        if chat is None:
            raise LookupError(f"handoff chat {chat_id} is not in the store")
        return chat

    def active_chat(self, session_id: str) -> Chat | None:
        return self.chats_repo.active_of(session_id)

    def last_chat(self, session_id: str) -> Chat | None:
        return self.chats_repo.last_of(session_id)

    def active_chats(self) -> list[Chat]:
        return self.chats_repo.active()

    def waiting_rows(self) -> list[tuple[int, str, str, float]]:
        """(id, queue, lang, waiting since) of every queued chat, oldest first: the cheap form of
        ``active_chats`` for queue positions."""
        return self.chats_repo.waiting_rows()

    def owned_rows(self) -> list[tuple[int, str, str]]:
        """(id, owner, queue) of every chat an agent has."""
        return self.chats_repo.owned_rows()

    def queue_stats(self) -> dict[str, tuple[int, float]]:
        """queue -> (chats waiting, oldest waiting since)."""
        return self.chats_repo.queue_stats()

    def handle_times(self, queue_id: str, limit: int = 50) -> list[float]:
        return self.chats_repo.handle_times(queue_id, limit)

    # ------------------------------------------------------------------ notes, tickets, ratings
    def chats_of_session(self, session_id: str) -> list[Chat]:
        """Every handoff of one conversation (one resume token, followed across a transfer)."""
        return self.chats_repo.of_session(session_id)

    def search(self, query: str, queue_ids: list[str] | None, limit: int = 20) -> dict[str, list[dict]]:
        """Past and present chats whose transcript or summary contains ``query``, and tickets
        whose text, answer or number does; newest first. ``queue_ids`` None: every queue."""
        chats = []
        for d in self.chats_repo.search(query):
            if queue_ids is not None and "*" not in queue_ids and d["queue_id"] not in queue_ids:
                continue
            chats.append({"id": d["id"], "session_id": d["session_id"], "status": d["status"],
                          "outcome": d["outcome"],
                          "queue": d["queue_id"], "lang": d["lang"], "summary": d["summary"],
                          "owner": d["owner"], "waiting_since": d["waiting_since"],
                          "ended_at": d["ended_at"], "snippet": snippet(d)[:200]})
            if len(chats) >= limit:
                break
        tickets = [t for t in self.tickets(None, queue_ids)
                   if query.casefold() in " ".join(str(t.get(k) or "") for k in ("text", "reply", "ref")).casefold()]
        return {"chats": chats, "tickets": list(reversed(tickets))[:limit]}

    def add_note(self, chat_id: int, author: str, kind: str, text: str) -> None:
        self.chats_repo.add_note(chat_id, author, kind, text, time.time())

    def notes(self, session_id: str) -> list[dict[str, Any]]:
        return self.chats_repo.notes(session_id)

    def add_ticket(self, session_id: str, chat_id: int | None, queue_id: str, lang: str,
                   text: str) -> int:
        return self.tickets_repo.add(session_id, chat_id, queue_id, lang, text, time.time())

    def ticket_by_ref(self, ref: str) -> dict | None:
        return self.tickets_repo.by_ref(ref)

    def tickets(self, status: str | None = "open", queue_ids: list[str] | None = None) -> list[dict]:
        rows = self.tickets_repo.all(status)
        if queue_ids is not None and "*" not in queue_ids:
            rows = [r for r in rows if r["queue_id"] in queue_ids]
        return rows

    def ticket(self, ticket_id: int) -> dict | None:
        return self.tickets_repo.get(ticket_id)

    def close_ticket(self, ticket_id: int, by: str, reply: str | None) -> bool:
        return self.tickets_repo.close(ticket_id, by, reply, time.time())

    def add_rating(self, session_id: str, chat: Chat | None, score: int, comment: str | None) -> None:
        """The visitor's rating, of the agent's chat ``chat`` (None: of the bot); one row in the
        one ratings table."""
        rated = Rated() if chat is None else Rated(chat.id, self._rated_agent(chat), chat.queue_id)
        self.ratings_repo.add(session_id, score, comment, time.time(), rated)

    def _rated_agent(self, chat: Chat) -> str | None:
        """The chat's owner, or (once it ended) whoever resolved or handed it back last."""
        return chat.owner or self.audit_repo.last_actor(chat.session_id, ("resolve", "handback"))

    def ratings(self, session_id: str | None = None) -> list[dict]:
        """Ratings of agents' chats."""
        return self.ratings_repo.of_agents(session_id)

    def csat(self) -> list[dict]:
        """Average rating and count per agent and queue (chats an agent handled)."""
        return self.ratings_repo.csat()

    # ------------------------------------------------------------------ audit
    def audit(self, actor: str, action: str, session_id: str | None = None, **detail: Any) -> None:
        self.audit_repo.add(time.time(), actor, action, session_id, detail)

    def audit_log(self, *, actor: str | None = None, session_id: str | None = None,
                  action: str | None = None, limit: int = 100) -> Iterator[dict]:
        return self.audit_repo.log(actor=actor, session_id=session_id, action=action, limit=limit)
