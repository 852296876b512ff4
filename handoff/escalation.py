"""Visitor → queue: a conversation escalated into a queue (within the per-conversation and
per-address limits), a queued visitor who left and did not come back, and the message a waiting
visitor leaves, which becomes a ticket."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from conversation.channel import Notice, QuickReply
from conversation.events import Queued, State, Stored, Visitor
from conversation.lifecycle import Escalate, LeaveMessage, LeaveQueue, TakeTicket
from conversation.owner import Rejected
from handoff import texts
from handoff.context import HandoffContext
from handoff.notifier import Notifier
from handoff.positions import eligible_online, position_of
from handoff.routing import route
from handoff.store import Chat
from storage.chats import NewChat

log = logging.getLogger(__name__)


class EscalationService:
    def __init__(self, ctx: HandoffContext, notifier: Notifier) -> None:
        self.ctx = ctx
        self.notifier = notifier
        self.escalations: dict[str, deque[float]] = {}  # "s:"+session / "ip:"+ip -> times
        self.ghost_timers: dict[str, asyncio.Task] = {}  # session -> drop of its queued chat

    async def escalate(self, session_id: str, *, lang: str, business_option: str | None,
                       region: str | None, overseas: bool, summary: str, reason: str) -> None:
        ctx = self.ctx
        db = ctx.db()
        r = route(lang, business_option, region, overseas, ctx.table)
        existing = db.active_chat(session_id)
        if existing is None and not self.may_escalate(session_id):
            db.audit("system", "escalation_limited", session_id, reason=reason)
            vlang = ctx.visitors.language(session_id, lang).lang
            await ctx.visitors.say(session_id, Notice(texts.say(
                texts.ESCALATION_LIMITED, vlang, hotline=ctx.table.hotline), lang=vlang))
            return
        chat: Chat | None = existing
        if existing is not None:  # asked again: no second chat, a waiting visitor hears where
            db.audit("system", "escalate", session_id, chat=existing.id, queue=existing.queue_id,
                     rule=r.rule, reason=reason, repeated=True)
            if existing.status == "queued":
                pos, eta = position_of(ctx, existing.id)
                await self.notice_queued(existing, pos, eta)
                await ctx.conversations().announce(session_id, pos, eta)
                ctx.announced[existing.id] = (pos, eta)
        else:
            chat = await self._queue(session_id, NewChat(
                r.queue_id, lang, business_option, r.region, r.city, overseas, summary[:300],
                reason, r.rule))
        if chat is not None and chat.status == "queued" and not ctx.visitors.is_online(session_id):
            self.start_ghost_timer(session_id)  # asked and left before the answer came
        await self.notifier.refresh()

    async def _queue(self, session_id: str, opening: NewChat) -> Chat | None:
        """The conversation into a queue, in one transaction with the audit row and the
        visitor's notice; None when it is not the bot's to hand over (closed meanwhile)."""
        ctx = self.ctx
        try:
            async with ctx.conversations().change(session_id, Escalate(opening.queue_id),
                                                  opening=opening) as change:
                chat, told = change.after, change.told
                assert chat is not None and told is not None and told.position is not None
                ctx.db().audit("system", "escalate", session_id, chat=chat.id,
                               queue=chat.queue_id, rule=opening.rule, reason=opening.reason,
                               repeated=False)
                await self.notice_queued(chat, told.position, told.eta_s)
        except Rejected as rejected:
            log.warning("escalation not applied: %s", rejected.reason, extra={"session": session_id})
            return None
        ctx.announced[chat.id] = (told.position, told.eta_s)
        return chat

    def may_escalate(self, session_id: str) -> bool:
        """At most ``escalations_per_session`` new chats per conversation and
        ``escalations_per_ip`` per client address in the sliding window; counts this one."""
        now = time.time()
        settings = self.ctx.settings
        window = settings.escalation_window_s
        ip = self.ctx.visitors.ip_of(session_id)
        keys = [(f"s:{session_id}", settings.escalations_per_session)]
        if ip:
            keys.append((f"ip:{ip}", settings.escalations_per_ip))
        for key, limit in keys:
            times = self.escalations.get(key)
            while times and times[0] <= now - window:
                times.popleft()
            if times is not None and len(times) >= limit:
                return False
        for key, _ in keys:
            self.escalations.setdefault(key, deque()).append(now)
        if len(self.escalations) > 50_000:  # forget keys with nothing in the window
            for key in [k for k, t in self.escalations.items() if not t or t[-1] <= now - window]:
                del self.escalations[key]
        return True

    def forget_stale(self, now: float) -> None:
        """Escalation counters with nothing left in their window."""
        window = getattr(self.ctx.settings, "escalation_window_s", 3600.0)
        self.escalations = {key: times for key, times in self.escalations.items()
                            if times and times[-1] > now - window}

    async def notice_queued(self, chat: Chat, pos: int, eta: int | None) -> None:
        """Where the visitor waits and for how long, or that nobody is online to answer."""
        ctx = self.ctx
        lang = ctx.language(chat).lang
        queue = ctx.table.queue(chat.queue_id).name(lang)
        if eligible_online(ctx, chat):
            text = texts.say(texts.QUEUED, lang, queue=queue,
                             ahead=texts.ahead_phrase(pos - 1, lang), wait=texts.wait_phrase(eta, lang))
            quick: tuple[QuickReply, ...] = ()
        else:
            text = texts.say(texts.NO_AGENTS, lang, queue=queue, hotline=ctx.table.hotline)
            label = texts.say(texts.LEAVE_MESSAGE_BUTTON, lang)
            quick = (QuickReply(label, label),)
        await ctx.visitors.say(chat.session_id, Notice(text, lang=lang, quick_replies=quick))

    # ------------------------------------------------------------------ visitors who leave
    def on_visitor_online(self, session_id: str) -> None:
        timer = self.ghost_timers.pop(session_id, None)
        if timer is not None:
            timer.cancel()
        self._visitor_changed(session_id)

    def _visitor_changed(self, session_id: str) -> None:
        """The visitor's online flag, channel or language may have changed."""
        if self.ctx.store is not None and (self.ctx.conns or self.notifier.views.items):
            chat = self.ctx.db().active_chat(session_id)
            if chat is not None:
                self.notifier.changed(chat.id)
                self.notifier.push_soon()

    def on_visitor_offline(self, session_id: str) -> None:
        """The visitor's last connection closed: a queued chat waits ``visitor_gone_grace_s``
        for them to come back before it leaves the queue."""
        if self.ctx.store is None:
            return
        chat = self.ctx.db().active_chat(session_id)
        if chat is not None:
            self.notifier.changed(chat.id)
            self.notifier.push_soon()
        if chat is not None and chat.status == "queued":
            self.start_ghost_timer(session_id)

    def start_ghost_timer(self, session_id: str) -> None:
        if session_id not in self.ghost_timers:
            self.ghost_timers[session_id] = asyncio.create_task(self._drop_when_gone(session_id))

    def stop(self) -> None:
        for timer in self.ghost_timers.values():
            timer.cancel()
        self.ghost_timers.clear()

    async def _drop_when_gone(self, session_id: str) -> None:
        """After the grace period a queued visitor with no open connection leaves the queue:
        what they wrote while waiting becomes a ticket (they find the answer by its number, or
        in this conversation when they come back); the others' positions are recomputed."""
        ctx = self.ctx
        await asyncio.sleep(ctx.settings.visitor_gone_grace_s)
        self.ghost_timers.pop(session_id, None)
        if ctx.store is None or ctx.visitors.is_online(session_id):
            return
        db = ctx.db()
        chat = db.active_chat(session_id)
        if chat is None or chat.status != "queued":
            return
        written = texts_while_queued(ctx.visitors.transcript(session_id))[-5:]
        if written:  # what they wrote while waiting is not lost: it becomes a ticket
            await self.create_ticket(chat, "\n".join(written), gone=True)
            return
        lang = ctx.language(chat).lang
        try:
            async with ctx.conversations().change(session_id, LeaveQueue(), about=chat):
                db.audit("system", "visitor_gone", session_id, chat=chat.id)
                await ctx.visitors.say(session_id, Notice(texts.say(texts.LEFT_QUEUE, lang),
                                                          lang=lang))
        except Rejected:
            return  # claimed or closed meanwhile
        ctx.announced.pop(chat.id, None)
        await self.notifier.release(chat, "visitor_gone")
        await self.notifier.refresh()

    # ------------------------------------------------------------------ leaving a message
    async def create_ticket(self, chat: Chat, text: str, *, gone: bool = False) -> None:
        ctx = self.ctx
        # One transaction: the chat out of the queue, the ticket, the audit row, the visitor's
        # notice with the ticket's number and the conversation back with the bot.
        try:
            async with ctx.conversations().change(chat.session_id, TakeTicket(visitor_gone=gone),
                                                  about=chat):
                await self._ticket(chat, text, gone=gone)
        except Rejected:
            return  # claimed or closed meanwhile
        if gone:
            await self.notifier.release(chat, "visitor_gone")
        ctx.announced.pop(chat.id, None)
        await self.notifier.refresh(tickets_changed=True)

    async def _ticket(self, chat: Chat, text: str, *, gone: bool) -> None:
        """The ticket, its audit row and the notice with its number."""
        ctx = self.ctx
        db = ctx.db()
        lang = ctx.language(chat).lang
        said = texts.LEFT_QUEUE_TICKET if gone else texts.TICKET_CREATED
        ticket_id = db.add_ticket(chat.session_id, chat.id, chat.queue_id, chat.lang, text)
        ticket = db.ticket(ticket_id)
        assert ticket is not None  # added just above
        ref = ticket["ref"]
        db.audit("system" if gone else "visitor", "ticket", chat.session_id, chat=chat.id,
                 ticket=ticket_id, ref=ref, visitor_gone=gone)
        await ctx.visitors.say(chat.session_id, Notice(texts.say(said, lang, ticket=ref),
                                                       lang=lang, meta={"ticket": ref}))

    async def start_leaving_message(self, chat: Chat) -> None:
        """The visitor pressed "Leave a message": their next message becomes a ticket."""
        ctx = self.ctx
        try:
            await ctx.conversations().apply(chat.session_id, LeaveMessage(), about=chat)
        except Rejected:
            return  # claimed or closed meanwhile
        lang = ctx.language(chat).lang
        await ctx.visitors.say(chat.session_id, Notice(texts.say(texts.LEAVE_MESSAGE_PROMPT, lang),
                                                       lang=lang))


def texts_while_queued(events: list[Stored]) -> list[str]:
    """What the visitor wrote since the conversation last entered the queue (leave-message
    commands left out)."""
    out: list[str] = []
    queued = False
    for stored in events:
        event = stored.event
        if isinstance(event, Queued):
            if not queued:
                queued, out = True, []
        elif isinstance(event, State):
            queued, out = False, []
        elif queued and isinstance(event, Visitor) and not texts.is_leave_message(event.text):
            out.append(event.text)
    return out
