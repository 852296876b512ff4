"""How a stored change reaches the other server processes on the same database: the ``EventBus``.

One process on SQLite holds every connection, so its bus (``LocalBus``) does nothing. Several
processes on one PostgreSQL database each keep a ``PostgresBus``: a change is announced with
``pg_notify`` on the writer's own connection, inside its transaction, so PostgreSQL delivers it
only once the change has committed (a rolled-back one is never announced). Each process listens
on a connection of its own and hands every announcement to the handler of its kind.

An announcement names what changed (a session's id and seq, with whether agents' consoles are
shown the event; a chat's id), never its content: receivers read the store, and skip what none
of their sockets would show. Only clients of the database can announce, never a visitor; a payload
that does not parse is dropped. After the listening connection was lost, the bus reconnects and
calls the ``on_reconnect`` handlers, which catch up from the store (notifications sent meanwhile
are gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg

from storage.backends import is_postgres
from storage.database import Database, SeqNotice

log = logging.getLogger(__name__)

CHANNEL = "chat_live"
RETRY_S = 0.5  # between attempts to open the listening connection again
Handler = Callable[[str, bool], None]  # (what changed, whether this process announced it)


class EventBus:
    """The in-process bus: every connection is in this process, nothing to tell anyone."""

    def __init__(self) -> None:
        self.handlers: dict[str, list[Handler]] = {}
        self.reconnected: list[Callable[[], None]] = []

    def subscribe(self, kind: str, handler: Handler) -> None:
        self.handlers.setdefault(kind, []).append(handler)

    def on_reconnect(self, handler: Callable[[], None]) -> None:
        self.reconnected.append(handler)

    def announce(self, database: Database, kind: str, ident: str) -> None:
        """Tell the other processes that ``kind`` ``ident`` changed (once committed)."""

    def notice(self, kind: str, head: str, tail: str) -> SeqNotice | None:
        """The announcement of ``kind`` ``head<seq>tail`` for the statement that numbers the row
        to send itself (storage/conversations.py), or None when there is no one to tell."""
        return None

    def connected(self) -> bool:
        """Whether announcements from the other processes reach this one now."""
        return True

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class PostgresBus(EventBus):
    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.node = uuid.uuid4().hex[:12]  # tells this process's own announcements apart
        self.listening = asyncio.Event()  # set while the listening connection is open
        self._task: asyncio.Task | None = None

    def announce(self, database: Database, kind: str, ident: str) -> None:
        # ``?`` parameters: a session id can hold nothing that changes the statement.
        database.execute("SELECT pg_notify(?, ?)", (CHANNEL, f"{self.node}|{kind}|{ident}"))

    def notice(self, kind: str, head: str, tail: str) -> SeqNotice | None:
        return SeqNotice(CHANNEL, f"{self.node}|{kind}|{head}", tail)

    def connected(self) -> bool:
        return self.listening.is_set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever())
        await self.listening.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen_forever(self) -> None:
        first = True
        while True:
            try:
                await self._listen(catch_up=not first)
            except psycopg.Error as exc:  # the server restarted, or our backend was terminated
                log.warning("live events: listening connection lost", extra={"error": str(exc)})
            self.listening.clear()
            first = False
            await asyncio.sleep(RETRY_S)

    async def _listen(self, *, catch_up: bool) -> None:
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            if catch_up:  # what was announced while we were not listening is read from the store
                for handler in self.reconnected:
                    handler()
            async for notify in conn.notifies():
                self._dispatch(notify.payload)

    def _dispatch(self, payload: str) -> None:
        node, _, rest = payload.partition("|")
        kind, _, ident = rest.partition("|")
        handlers = self.handlers.get(kind)
        if not handlers or not ident:
            log.warning("live events: unknown announcement dropped", extra={"kind": kind[:40]})
            return
        for handler in handlers:
            try:
                handler(ident, node == self.node)
            except Exception:  # one failing handler must not stop the listening for the others
                log.exception("live events: handler failed", extra={"kind": kind})


def open_bus(target: str | Path) -> EventBus:
    """The bus for a database target (storage/backends.py): PostgreSQL's for its URL."""
    return PostgresBus(str(target)) if is_postgres(target) else EventBus()
