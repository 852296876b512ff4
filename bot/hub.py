"""Live visitor connections per session, and the one way events reach visitors: ``emit``.

The hub is the visitor side of ``conversation.channel.VisitorChannel``: the conversation owner
and the handoff service say what a visitor is told (``say``, ``tell``, ``typing``) and read the
visitor's language and transcript through it, never through the hub's own shape.

``emit`` stores the event first and then writes it to every open connection of the session,
without awaiting between the two, so every client sees events in ``seq`` order and nothing is
shown that is not stored. Inside a caller's transaction (an escalation, a claim) the write to the
connections waits for the commit (``Database.after_commit``): a rolled-back event is never shown.

Several processes on one PostgreSQL database: each stored event is also announced on the
``EventBus`` (storage/live.py) with its session and seq (``Announced``), and the process holding
the session's connections reads what follows the last seq it wrote to each of them from the
store. Each connection remembers that seq (``seen``), so an event reaches it exactly once and in
seq order whichever process stored it and whichever path (the commit, an announcement, a catch-up
after the listening connection was lost) brings it first.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial

from websockets.asyncio.server import ServerConnection, broadcast

from bot.frames import Typing
from bot.presence import SharedPresence
from bot.protocol import dumps
from bot.store import SessionInfo, Store
from conversation.channel import Notice, Told, VisitorLanguage
from conversation.events import Announced, Event, Queued, Reply, State, Stored, for_consoles
from conversation.lifecycle import Holder
from runtime.frames import Frame
from runtime.language import Lang, output_script, to_script
from storage.conversations import TurnWrites
from storage.database import Database, SeqNotice
from storage.live import EventBus

log = logging.getLogger(__name__)
MAX_IPS = 100_000
TRANSACTION_WAIT_S = 0.005  # before an announcement's read tries again


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def reply_language(session: SessionInfo | None, lang: str | None) -> VisitorLanguage:
    """Replies in ``lang`` (Chinese unless English) to this visitor: in the script they write."""
    chosen: Lang = "en" if lang == "en" else "zh"
    return VisitorLanguage(chosen, output_script(chosen, session.script if session else None))


class Hub:
    def __init__(self, store: Store, bus: EventBus | None = None) -> None:
        self.store = store
        self.bus = bus if bus is not None else EventBus()
        self.bus.subscribe("event", self.stored_elsewhere)
        self.bus.on_reconnect(self.catch_up)
        self.connections: dict[str, set[ServerConnection]] = defaultdict(set)
        # The seq of the last event written to each connection (its replay's on attach).
        self.seen: dict[ServerConnection, int] = {}
        # The client address a session last spoke from (per-IP limits on escalations), newest
        # last, at most MAX_IPS sessions.
        self.ips: dict[str, str] = {}
        # Several nodes on one database: who holds which visitor's sockets (bot/presence.py).
        self.presence: SharedPresence | None = None

    @property
    def database(self) -> Database:
        """The store's database, shared with the handoff service (one transaction for both)."""
        return self.store.database

    # Connections ------------------------------------------------------------------------------

    def attach(self, session_id: str, connection: ServerConnection, ip: str | None = None, *,
               seen: int) -> None:
        """A connection that has been sent the session's events up to ``seen``."""
        if not self.connections.get(session_id) and self.presence is not None:
            self.presence.arrived(session_id)
        self.connections[session_id].add(connection)
        self.seen[connection] = seen
        if ip is not None:
            self.ips.pop(session_id, None)
            self.ips[session_id] = ip
            while len(self.ips) > MAX_IPS:
                del self.ips[next(iter(self.ips))]

    def ip_of(self, session_id: str) -> str | None:
        return self.ips.get(session_id)

    def detach(self, session_id: str, connection: ServerConnection) -> None:
        live = self.connections.get(session_id)
        self.seen.pop(connection, None)
        if live is not None:
            live.discard(connection)
            if not live:
                self._gone(session_id)

    def detach_all(self, session_id: str) -> None:
        for connection in self.connections.get(session_id, ()):
            self.seen.pop(connection, None)
        if session_id in self.connections:
            self._gone(session_id)

    def _gone(self, session_id: str) -> None:
        """The session's last connection on this node closed."""
        del self.connections[session_id]
        if self.presence is not None:
            self.presence.left(session_id)

    def forget(self, session_id: str) -> None:
        """A purged conversation: no connection stays on it, its client address is dropped."""
        self.detach_all(session_id)
        self.ips.pop(session_id, None)

    def is_attached(self, session_id: str, connection: ServerConnection) -> bool:
        return connection in self.connections.get(session_id, ())

    def is_online(self, session_id: str) -> bool:
        """A socket of the visitor is open here or, with several nodes, on another node."""
        if self.connections.get(session_id):
            return True
        return self.presence is not None and self.presence.elsewhere(session_id)

    def send(self, connection: ServerConnection, frame: Frame) -> None:
        """Write a frame now, in order with every other frame to that connection."""
        broadcast([connection], dumps(frame.to_wire()))

    def send_stored(self, connection: ServerConnection, event: Stored) -> None:
        """Write a stored event (a replay after ``hello``) as it was first sent."""
        broadcast([connection], dumps(event.to_wire()))

    # Events -----------------------------------------------------------------------------------

    async def emit(self, session_id: str, event: Event, *, client_id: str | None = None) -> Stored:
        return self.emit_now(session_id, event, client_id=client_id)

    def emit_now(self, session_id: str, event: Event, *, client_id: str | None = None) -> Stored:
        """``emit`` for a caller that writes several things in one transaction of its own: a
        plain call cannot let another coroutine's statements into that transaction."""
        stored = self.store.append_event(session_id, event, now_iso(), client_id=client_id,
                                         notice=self._notice(session_id, event))
        self._push_once_committed(session_id, [stored])
        return stored

    def emit_turn(self, session_id: str, turn: TurnWrites, events: Sequence[Event]) -> list[Stored]:
        """The bot's turn: its writes to the conversation (``turn``) and its replies stored at
        once (one statement on PostgreSQL), then the replies pushed as ``emit`` does."""
        stored = self.store.record_turn(session_id, turn, events, now_iso(),
                                        notices=[self._notice(session_id, e) for e in events])
        self._push_once_committed(session_id, stored)
        return stored

    def _notice(self, session_id: str, event: Event) -> SeqNotice | None:
        """How the statement storing ``event`` announces it to the other processes."""
        return self.bus.notice("event", *Announced.around_seq(session_id, for_consoles(event)))

    def _push_once_committed(self, session_id: str, events: list[Stored]) -> None:
        # At once when no transaction is open: the statement storing them committed alone.
        for stored in events:
            self.database.after_commit(partial(self.push_stored, session_id, stored))

    def push_stored(self, session_id: str, stored: Stored) -> None:
        """Write a stored event to every live connection (once its transaction committed), with
        any committed before it that a connection has not been sent yet (stored by another
        process: a session's seqs commit in order, its row being locked until then)."""
        for connection in list(self.connections.get(session_id, ())):
            seen = self.seen.get(connection, 0)
            if seen == stored.seq - 1:
                self.write(connection, [stored])
            elif seen < stored.seq:
                self.write(connection, self.store.transcript(session_id, seen))

    def stored_elsewhere(self, ident: str, ours: bool) -> None:
        """Another process stored an event of a session: its connections here read it from the
        store (this process's own were written at its commit)."""
        announced = Announced.read(ident)
        if announced is None:
            log.warning("live events: malformed event announcement dropped")
            return
        if not ours and announced.session_id in self.connections:
            self.outside_transactions(lambda: self.deliver(announced.session_id))

    def catch_up(self) -> None:
        """Announcements may have been missed: every live session reads what it lacks."""
        self.outside_transactions(self.deliver_all)

    def deliver_all(self) -> None:
        for session_id in list(self.connections):
            self.deliver(session_id)

    def outside_transactions(self, work: Callable[[], None]) -> None:
        """Run ``work`` once no transaction is open on the shared connection: a read inside one
        would see (and show) its events before they are committed."""
        if self.database.in_transaction:
            asyncio.get_running_loop().call_later(
                TRANSACTION_WAIT_S, self.outside_transactions, work)
            return
        work()

    def deliver(self, session_id: str) -> None:
        """Every connection of the session is sent the stored events after its ``seen``."""
        live = list(self.connections.get(session_id, ()))
        if not live:
            return
        events = self.store.transcript(session_id, min(self.seen.get(c, 0) for c in live))
        for connection in live:
            self.write(connection, [e for e in events if e.seq > self.seen.get(connection, 0)])

    def write(self, connection: ServerConnection, events: list[Stored]) -> None:
        for event in events:
            broadcast([connection], dumps(event.to_wire()))
        if events:
            self.seen[connection] = events[-1].seq

    # The visitor channel (conversation/channel.py) ----------------------------------------------

    def language(self, session_id: str, fallback: str | None = None) -> VisitorLanguage:
        """The one reading of what a visitor is answered in: the conversation's language (else
        ``fallback``, else Chinese) and the script of that language they write in."""
        session = self.session(session_id)
        return reply_language(session, (session.lang if session else None) or fallback)

    async def say(self, session_id: str, notice: Notice) -> Stored:
        """A system or agent message, converted once, here, to the visitor's script."""
        session = self.session(session_id)
        script = reply_language(session, notice.lang or (session.lang if session else None)).script
        event = Reply(
            sender=notice.sender, text=to_script(notice.text, script),
            lang="en" if script == "en" else "zh",
            script=script, sources=[],
            quick_replies=[{"label": to_script(q.label, script), "value": to_script(q.value, script)}
                           for q in notice.quick_replies],
            meta={"kind": notice.kind, **({"agent": notice.agent} if notice.agent else {}),
                  **notice.meta},
        )
        return await self.emit(session_id, event)

    async def tell(self, session_id: str, told: Told) -> Stored:
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

    def transcript(self, session_id: str, after_seq: int = 0) -> list[Stored]:
        return self.store.transcript(session_id, after_seq)

    def channel_of(self, session_id: str) -> str | None:
        session = self.session(session_id)
        return session.channel if session is not None else None

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

    def context(self, session_id: str) -> dict:
        """The bot's stored context of the conversation (bot/dialogue.py's Context, as JSON)."""
        return self.store.context(session_id)

    def record_consent(self, session_id: str, consent: str) -> None:
        # Only while a person has the conversation: the bot, which writes the context on its
        # turns, is not answering then (bot/bot_turn.py).
        context = self.store.context(session_id)
        self.store.save_context(session_id, {**context, "agent_consent": consent, "consent_for": None})
