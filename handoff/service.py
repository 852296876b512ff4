"""Human handoff: routing, queues, ownership and the agent websocket (/agent/ws).

The SQLite tables are the only source of truth for queue state and ownership, so a restart
loses nothing; what lives in memory is only who is connected right now. Every change of who
holds a chat goes through the conversation owner (conversation/owner.py) this service builds at
``start()``: the parts here decide the event, the owner applies it.
The server constructs ``HandoffService(settings, visitors, retriever, database=..., bus=...)``
(``visitors``: the visitor channel, conversation/channel.py, which bot.hub.Hub implements; the
handoff reaches visitors through nothing else), awaits ``start()``, calls
``escalate()`` and the ``on_visitor_*`` hooks and hands every /agent/ws socket to
``handle_agent_connection``. This class only wires the parts together (docs/architecture.md,
"Handoff"): each hook and frame is handled by the part named for its job.
"""

from __future__ import annotations

from typing import Any

from conversation.channel import VisitorChannel
from conversation.events import Stored
from conversation.owner import ConversationOwner
from handoff.auth import Authenticator, LockoutPolicy
from handoff.chat_work import ChatWork
from handoff.connection import AgentConnections
from handoff.context import HandoffContext, load_canned
from handoff.desk import Desk
from handoff.escalation import EscalationService
from handoff.notifier import Notifier
from handoff.ownership import Ownership
from handoff.positions import position_of, queue_positions
from handoff.routing import Route, load_table, route
from handoff.settings import HandoffSettings
from handoff.store import HandoffStore
from handoff.ticket_lookup import TicketLookup
from handoff.views import Views
from handoff.visitors import VisitorEvents
from runtime.offload import Offload
from storage.database import Database
from storage.live import EventBus


class HandoffService:
    def __init__(self, settings: HandoffSettings, visitors: VisitorChannel, retriever: Any | None,
                 *, database: Database | None = None, bus: EventBus | None = None) -> None:
        self.context = HandoffContext(settings=settings, visitors=visitors,
                                      table=load_table(settings.routing_file),
                                      canned=load_canned(), database=database,
                                      retriever=retriever, bus=bus or EventBus())
        self.views = Views(self.context)
        # The notifier starts the grace timers the escalation service and the ownership
        # commands own; both are built after it, hence the late lookups.
        self.notifier = Notifier(
            self.context, self.views,
            visitor_gone=lambda session_id: self.escalation.start_ghost_timer(session_id),
            agent_gone=lambda username: self.ownership.start_offline_timer(username))
        self.escalation = EscalationService(self.context, self.notifier)
        self.ownership = Ownership(self.context, self.notifier)
        self.visitors = VisitorEvents(self.context, self.notifier, self.escalation)
        self.tickets = TicketLookup(self.context)
        commands = {**self.ownership.handlers(),
                    **ChatWork(self.context, self.notifier).handlers(),
                    **Desk(self.context, self.notifier).handlers()}
        self.connections = AgentConnections(self.context, self.notifier, self.ownership, commands)

    @property
    def retriever(self) -> Any | None:
        return self.context.retriever

    @retriever.setter
    def retriever(self, retriever: Any | None) -> None:  # the server loads it after start-up
        self.context.retriever = retriever

    @property
    def conversations(self) -> ConversationOwner:
        """Who holds each conversation, and the one way to change it."""
        return self.context.conversations()

    @property
    def store(self) -> HandoffStore | None:
        return self.context.store

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        ctx = self.context
        settings = ctx.settings
        store = ctx.store = HandoffStore(ctx.database or settings.database)
        window = ctx.table.failure_window_s or settings.agent_lockout_s
        ctx.auth = Authenticator(
            store,
            LockoutPolicy(settings.agent_max_failures, window, settings.agent_lockout_s),
            settings.agent_token_ttl_s,
            Offload("argon2", workers=1, queue=settings.offload_queue))
        ctx.owner = ConversationOwner(store.database, ctx.visitors,
                                      place=lambda chat_id: position_of(ctx, chat_id),
                                      chat_changed=self.notifier.changed)
        self.notifier.listen()
        # Queued visitors keep their place; remember what they were last told so a restart does
        # not flood them with identical position updates.
        for chat_id, pos, eta in queue_positions(ctx):
            ctx.announced[chat_id] = (pos, eta)
        # Visitors waiting in the queue get the grace period to reconnect after a restart.
        for chat in store.active_chats():
            if chat.status == "queued":
                self.escalation.start_ghost_timer(chat.session_id)
        # Agents who owned chats get the same grace to reconnect after a restart.
        for owner in {c.owner for c in store.active_chats() if c.status == "agent" and c.owner}:
            self.ownership.start_offline_timer(owner)
        # With several nodes, so do the agents of a node that dies.
        self.ownership.watch_other_nodes()

    async def stop(self) -> None:
        ctx = self.context
        self.ownership.stop()
        self.escalation.stop()
        await self.notifier.stop()
        for conns in list(ctx.conns.values()):
            for conn in list(conns):
                await conn.ws.close(1012, "service restart")
        ctx.conns.clear()
        if ctx.store is not None:
            ctx.store.close()
            ctx.store = None

    # ------------------------------------------------------------------ server-facing API
    def regions(self) -> list[str]:
        return [r.zh for r in self.context.table.regions]

    def queue_lengths(self) -> dict[str, int]:
        counts = {q: 0 for q in self.context.table.queues}
        for queue, (n, _) in self.context.db().queue_stats().items():
            counts[queue] = n
        return counts

    def route(self, lang: str, business_option: str | None, region: str | None,
              overseas: bool) -> Route:
        return route(lang, business_option, region, overseas, self.context.table)

    async def escalate(self, session_id: str, *, lang: str, business_option: str | None,
                       region: str | None, overseas: bool, summary: str, reason: str) -> None:
        await self.escalation.escalate(session_id, lang=lang, business_option=business_option,
                                       region=region, overseas=overseas, summary=summary,
                                       reason=reason)

    def forget_stale(self, now: float) -> None:
        """Client addresses remembered for ticket-number misses, once their hour has passed, and
        escalation counters with nothing left in their window (called after each purge)."""
        self.tickets.forget_stale(now)
        self.escalation.forget_stale(now)

    def on_visitor_online(self, session_id: str) -> None:
        self.escalation.on_visitor_online(session_id)

    def on_visitor_offline(self, session_id: str) -> None:
        self.escalation.on_visitor_offline(session_id)

    async def on_visitor_event(self, session_id: str, event: Stored) -> None:
        await self.visitors.on_visitor_event(session_id, event)

    async def on_visitor_typing(self, session_id: str, on: bool) -> None:
        await self.visitors.on_visitor_typing(session_id, on)

    async def on_rating(self, session_id: str, score: int, comment: str | None) -> None:
        await self.visitors.on_rating(session_id, score, comment)

    async def on_close(self, session_id: str) -> None:
        await self.visitors.on_close(session_id)

    async def on_ticket_query(self, session_id: str, text: str, client: str = "") -> bool:
        return await self.tickets.on_ticket_query(session_id, text, client)

    async def handle_agent_connection(self, ws: Any, ip: str | None = None) -> None:
        await self.connections.handle(ws, ip)
