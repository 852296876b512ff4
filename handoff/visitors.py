"""What a visitor in a handoff does, as the server reports it: a message (to the agent, or left
as a ticket), typing, closing the chat, and rating it afterwards."""

from __future__ import annotations

import time

from handoff import agent_frames as af
from handoff import texts
from handoff.context import HandoffContext
from handoff.escalation import EscalationService
from handoff.notifier import Notifier
from handoff.positions import eligible_online


class VisitorEvents:
    def __init__(self, ctx: HandoffContext, notifier: Notifier,
                 escalation: EscalationService) -> None:
        self.ctx = ctx
        self.notifier = notifier
        self.escalation = escalation

    async def on_visitor_event(self, session_id: str, event: dict) -> None:
        ctx = self.ctx
        db = ctx.db()
        chat = db.active_chat(session_id)
        if event.get("type") != "visitor":
            return
        if chat is None:
            # The conversation says queued/agent but no handoff holds it: give it back to the
            # bot rather than leave the visitor talking to nobody.
            db.audit("system", "orphan_state", session_id)
            await ctx.hub.set_state(session_id, "bot")
            return
        text = str(event.get("text", ""))
        if chat.status == "queued" and chat.leaving_message:
            await self.escalation.create_ticket(chat, text)
            return
        if chat.status == "queued" and texts.is_leave_message(text):
            await self.escalation.start_leaving_message(chat)
            return
        await self.notifier.to_watchers(chat, af.Event(chat=chat.id, event=event))
        self.notifier.views.visitor_wrote(chat.id, text)
        self.notifier.changed(chat.id)
        if chat.status == "queued" and not eligible_online(ctx, chat):
            # Nobody can read it yet: say so and offer "Leave a message" again.
            lang, script = ctx.visitor_lang(chat)
            label = texts.say(texts.LEAVE_MESSAGE_BUTTON, lang, script)
            await ctx.hub.reply(session_id, texts.say(texts.NO_AGENTS_STILL, lang, script,
                                                      hotline=ctx.table.hotline),
                                sender="system", lang=lang, kind="handoff",
                                quick_replies=[{"label": label, "value": label}])
        if chat.status == "queued":
            await self.notifier.broadcast()

    async def on_visitor_typing(self, session_id: str, on: bool) -> None:
        chat = self.ctx.db().active_chat(session_id)
        if chat is not None and chat.status == "agent":
            await self.notifier.to_watchers(chat, af.Typing(chat=chat.id, on=bool(on)))

    async def on_rating(self, session_id: str, score: int, comment: str | None) -> None:
        """The visitor's rating: of the agent whose chat ended last (with an audit row), or of
        the bot; one row of the ratings table, in one transaction."""
        db = self.ctx.db()
        with db.database.transaction():
            chat = db.last_chat(session_id)
            if chat is None or chat.outcome not in ("resolved", "visitor_closed"):
                db.add_rating(session_id, None, int(score), comment)
                return
            db.add_rating(session_id, chat, int(score), comment)
            db.audit("visitor", "rating", session_id, chat=chat.id, score=score)

    async def on_close(self, session_id: str) -> None:
        db = self.ctx.db()
        chat = db.active_chat(session_id)
        if chat is None:
            return
        with db.database.transaction():
            db.end(chat.id, status="closed", outcome="visitor_closed", now=time.time())
            db.audit("visitor", "close", session_id, chat=chat.id)
        await self.notifier.release(chat, "visitor_closed")
        await self.notifier.refresh()
