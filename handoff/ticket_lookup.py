"""A visitor quoting a ticket number, in any chat on any device: its answer, or word that it is
not answered yet; unknown numbers are counted per client address so numbers cannot be found by
trying."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from conversation.channel import Notice
from handoff import texts
from handoff.context import HandoffContext
from handoff.store import find_ticket_ref

TICKET_MISSES_PER_HOUR = 10


def day(moment: float) -> str:
    """A date as visitors read it (UTC; the day is all they need)."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d")


class TicketLookup:
    def __init__(self, ctx: HandoffContext) -> None:
        self.ctx = ctx
        self.ticket_misses: dict[str, list[float]] = {}  # client address -> unknown numbers tried

    async def on_ticket_query(self, session_id: str, text: str, client: str = "") -> bool:
        """True when the message was such a query. After TICKET_MISSES_PER_HOUR numbers that do
        not exist in an hour the client is told to call the hotline."""
        ctx = self.ctx
        ref = find_ticket_ref(text)
        if ref is None or ctx.store is None:
            return False
        lang = ctx.visitors.language(session_id).lang
        hotline = ctx.table.hotline
        now = time.time()
        misses = [t for t in self.ticket_misses.get(client, []) if now - t < 3600]
        self.ticket_misses[client] = misses
        if len(misses) >= TICKET_MISSES_PER_HOUR:
            ctx.db().audit("visitor", "ticket_query_blocked", session_id, ref=ref)
            await ctx.visitors.say(session_id, Notice(
                texts.say(texts.TICKET_TOO_MANY, lang, hotline=hotline), lang=lang, kind="notice"))
            return True
        ticket = ctx.db().ticket_by_ref(ref)
        ctx.db().audit("visitor", "ticket_query", session_id, ref=ref, found=ticket is not None)
        if ticket is None:
            misses.append(now)
            said = texts.say(texts.TICKET_UNKNOWN, lang, ticket=ref, hotline=hotline)
        elif ticket.get("purged_at") is not None:
            said = texts.say(texts.TICKET_PURGED, lang, ticket=ref, hotline=hotline,
                             date=day(ticket["purged_at"]))
        elif ticket["status"] == "closed" and ticket.get("reply"):
            said = texts.say(texts.TICKET_ANSWER, lang, ticket=ref,
                             reply="{reply}").replace("{reply}", ticket["reply"])
        else:
            said = texts.say(texts.TICKET_PENDING, lang, ticket=ref)
        await ctx.visitors.say(session_id, Notice(said, lang=lang, kind="notice",
                                                  meta={"ticket": ref}))
        return True

    def forget_stale(self, now: float) -> None:
        """Client addresses whose hour of misses has passed."""
        self.ticket_misses = {client: misses for client, misses in self.ticket_misses.items()
                              if any(now - t < 3600 for t in misses)}
