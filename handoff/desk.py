"""The agent's desk outside any one chat: canned replies, the tickets list and a ticket's
answer, search over past chats and tickets, and the supervisors' overview."""

from __future__ import annotations

from conversation.channel import Notice
from handoff import agent_frames as af
from handoff import agent_protocol as ap
from handoff import texts
from handoff.agent_protocol import AgentProtocolError
from handoff.commands import Handler
from handoff.context import AgentConn, HandoffContext
from handoff.notifier import Notifier
from handoff.store import Agent
from runtime.language import Lang


class Desk:
    def __init__(self, ctx: HandoffContext, notifier: Notifier) -> None:
        self.ctx = ctx
        self.notifier = notifier

    def handlers(self) -> dict[str, Handler]:
        return {ap.Canned.type: self.canned, ap.Tickets.type: self.tickets,
                ap.TicketReply.type: self.ticket_reply, ap.Search.type: self.search,
                ap.Overview.type: self.overview}

    async def canned(self, conn: AgentConn, agent: Agent, frame: ap.Canned) -> None:
        await conn.send(af.Canned(replies=self.ctx.canned))

    async def tickets(self, conn: AgentConn, agent: Agent, frame: ap.Tickets) -> None:
        status = frame.status or "open"
        if status not in ("open", "closed", "all"):
            raise AgentProtocolError("bad_field", "status is open, closed or all.", "status")
        scope = None if agent.role == "supervisor" else agent.queues
        rows = self.ctx.db().tickets(None if status == "all" else status, scope)
        await conn.send(af.Tickets(status=status, tickets=self.notifier.views.tickets(rows)))

    async def ticket_reply(self, conn: AgentConn, agent: Agent, frame: ap.TicketReply) -> None:
        ctx = self.ctx
        db = ctx.db()
        ticket = db.ticket(frame.ticket)
        if ticket is None or (agent.role != "supervisor" and "*" not in agent.queues
                              and ticket["queue_id"] not in agent.queues):
            raise AgentProtocolError("unknown_ticket", "No such ticket.", "ticket")
        if not db.close_ticket(ticket["id"], agent.username, frame.text):
            raise AgentProtocolError("ticket_closed", "This ticket is already answered.", "ticket")
        db.audit(agent.username, "ticket_reply", ticket["session_id"], ticket=ticket["id"])
        lang: Lang = "en" if ticket["lang"] == "en" else "zh"
        text = texts.say(texts.TICKET_REPLY, lang, ticket=ticket["ref"] or ticket["id"],
                         reply="{reply}").replace("{reply}", frame.text)
        await ctx.visitors.say(ticket["session_id"], Notice(text, sender="agent", agent=agent.name,
                                                            kind="agent", lang=lang))
        await conn.send(af.TicketDone(ticket=ticket["id"]))
        await self.notifier.broadcast(tickets_changed=True)

    async def search(self, conn: AgentConn, agent: Agent, frame: ap.Search) -> None:
        query = " ".join(frame.query.split())
        if len(query) < 2:
            raise AgentProtocolError("bad_field", "Search for at least 2 characters.", "query")
        scope = None if agent.role == "supervisor" else agent.queues
        found = self.ctx.db().search(query[:100], scope)
        self.ctx.db().audit(agent.username, "search", None, chars=len(query))
        await conn.send(self.notifier.views.found(query, found))

    async def overview(self, conn: AgentConn, agent: Agent, frame: ap.Overview) -> None:
        if agent.role != "supervisor":
            raise AgentProtocolError("forbidden", "Supervisors only.")
        await conn.send(self.notifier.views.overview())
