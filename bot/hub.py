"""Live visitor connections per session, and the one way events reach visitors: ``emit``.

``emit`` stores the event first and then writes it to every open connection of the session,
without awaiting between the two, so every client sees events in ``seq`` order and nothing is
shown that is not stored. Inside a caller's transaction (an escalation, a claim) the write to the
connections waits for the commit (``Database.after_commit``): a rolled-back event is never shown.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime

from websockets.asyncio.server import ServerConnection, broadcast

from bot.frames import Queued, Reply, State, Typing, Visitor
from bot.protocol import dumps
from bot.store import SessionInfo, Store
from conversation.lifecycle import Holder
from conversation.owner import Told
from runtime.frames import Frame
from runtime.language import output_script, to_script
from storage.database import Database

log = logging.getLogger(__name__)
MAX_IPS = 100_000


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Hub:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.connections: dict[str, set[ServerConnection]] = defaultdict(set)
        # The client address a session last spoke from (per-IP limits on escalations), newest
        # last, at most MAX_IPS sessions.
        self.ips: dict[str, str] = {}

    @property
    def database(self) -> Database:
        """The store's database, shared with the handoff service (one transaction for both)."""
        return self.store.database

    # Connections ------------------------------------------------------------------------------

    def attach(self, session_id: str, connection: ServerConnection, ip: str | None = None) -> None:
        self.connections[session_id].add(connection)
        if ip is not None:
            self.ips.pop(session_id, None)
            self.ips[session_id] = ip
            while len(self.ips) > MAX_IPS:
                del self.ips[next(iter(self.ips))]

    def ip_of(self, session_id: str) -> str | None:
        return self.ips.get(session_id)

    def detach(self, session_id: str, connection: ServerConnection) -> None:
        live = self.connections.get(session_id)
        if live is not None:
            live.discard(connection)
            if not live:
                del self.connections[session_id]

    def detach_all(self, session_id: str) -> None:
        self.connections.pop(session_id, None)

    def forget(self, session_id: str) -> None:
        """A purged conversation: no connection stays on it, its client address is dropped."""
        self.detach_all(session_id)
        self.ips.pop(session_id, None)

    def is_attached(self, session_id: str, connection: ServerConnection) -> bool:
        return connection in self.connections.get(session_id, ())

    def is_online(self, session_id: str) -> bool:
        return bool(self.connections.get(session_id))

    def send(self, connection: ServerConnection, frame: Frame) -> None:
        """Write a frame now, in order with every other frame to that connection."""
        broadcast([connection], dumps(frame.to_wire()))

    def send_stored(self, connection: ServerConnection, event: dict) -> None:
        """Write a stored event (a replay after ``hello``) as the store holds it."""
        broadcast([connection], dumps(event))

    # Events -----------------------------------------------------------------------------------

    async def emit(self, session_id: str, event: Visitor | Reply | State | Queued, *,
                   client_id: str | None = None) -> dict:
        stored = self.store.append_event(session_id, {**event.to_wire(), "ts": now_iso()},
                                         client_id=client_id)
        self.database.after_commit(lambda: self.push_stored(session_id, stored))
        return stored

    def push_stored(self, session_id: str, stored: dict) -> None:
        """Write a stored event to every live connection (once its transaction committed)."""
        live = self.connections.get(session_id)
        if live:
            broadcast(live, dumps(stored))

    async def reply(self, session_id: str, text: str, *, sender: str, lang: str | None = None,
                    kind: str = "notice", agent: str | None = None, quick_replies=(),
                    sources=(), meta: dict | None = None) -> dict:
        """Emit a reply in the session's language and script (Traditional for zh-Hant / yue)."""
        session = self.session(session_id)
        lang = lang or (session.lang if session and session.lang else "zh")
        script = output_script(lang, session.script if session else None)
        event = Reply(
            sender=sender, text=to_script(text, script), lang=lang, script=script,
            sources=list(sources),
            quick_replies=[
                {"label": to_script(q["label"], script), "value": to_script(q["value"], script)}
                for q in quick_replies
            ],
            meta={"kind": kind, **({"agent": agent} if agent else {}), **(meta or {})},
        )
        return await self.emit(session_id, event)

    async def tell(self, session_id: str, told: Told) -> dict:
        """The visitor's ``state`` frame for their conversation's holder (conversation/owner.py
        decides it; a queued chat says where it waits)."""
        event: State | Queued
        if told.holder is Holder.QUEUED:
            assert told.queue is not None and told.position is not None, "a queued chat has a place"
            event = Queued(queue=told.queue, position=told.position, eta_s=told.eta_s)
        else:
            event = State(state=told.holder.value, agent=told.agent, rating=told.rating)
        return await self.emit(session_id, event)

    async def typing(self, session_id: str, sender: str, on: bool) -> None:
        self.push_now(session_id, Typing(sender=sender, on=on))

    async def push(self, session_id: str, frame: Frame) -> None:
        self.push_now(session_id, frame)

    def push_now(self, session_id: str, frame: Frame) -> None:
        """Write a frame that is not stored (typing, moved) to every live connection."""
        live = self.connections.get(session_id)
        if live:
            broadcast(live, dumps(frame.to_wire()))

    # Reading ----------------------------------------------------------------------------------

    def session(self, session_id: str) -> SessionInfo | None:
        return self.store.session(session_id)

    def events(self, session_id: str, after_seq: int = 0) -> list[dict]:
        return self.store.events(session_id, after_seq)
