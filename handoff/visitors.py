"""What a visitor in a handoff does, as the server reports it: a message (to the agent, or left
as a ticket), typing, closing the chat, and rating it afterwards."""

from __future__ import annotations

from conversation.channel import Notice, QuickReply
from conversation.events import Stored, Visitor
from conversation.lifecycle import Close
from conversation.owner import Rejected
from handoff import agent_frames as af
from handoff import texts
from handoff.context import HandoffContext
from handoff.disclosure import Disclosure, consent_after
from handoff.escalation import EscalationService
from handoff.notifier import Notifier
from handoff.positions import eligible_online
from handoff.store import Chat
from runtime.language import Lang
from runtime.language_id import detect_language
from services.consent import ACK, ConsentWord, word_of


class VisitorEvents:
    def __init__(self, ctx: HandoffContext, notifier: Notifier,
                 escalation: EscalationService) -> None:
        self.ctx = ctx
        self.notifier = notifier
        self.escalation = escalation

    async def on_visitor_event(self, session_id: str, stored: Stored) -> None:
        ctx = self.ctx
        db = ctx.db()
        chat = db.active_chat(session_id)
        if not isinstance(stored.event, Visitor) or chat is None:
            return  # a chat that ended just now: the visitor was told the bot has them again
        text = stored.event.text
        word = word_of(text)
        if word is not None:  # whatever else the message does (a ticket, a line to the agent)
            await self._consent_said(chat, word, text)
        if chat.status == "queued" and chat.leaving_message:
            await self.escalation.create_ticket(chat, text)
            return
        if chat.status == "queued" and texts.is_leave_message(text):
            await self.escalation.start_leaving_message(chat)
            return
        shown = self.notifier.views.disclosure(chat).event(stored)
        await self.notifier.to_watchers(chat, af.Event(chat=chat.id, event=shown))
        self.notifier.views.visitor_wrote(chat.id, text)
        self.notifier.changed(chat.id)
        if chat.status == "queued" and not eligible_online(ctx, chat):
            # Nobody can read it yet: say so and offer "Leave a message" again.
            lang = ctx.language(chat).lang
            label = texts.say(texts.LEAVE_MESSAGE_BUTTON, lang)
            await ctx.visitors.say(session_id, Notice(
                texts.say(texts.NO_AGENTS_STILL, lang, hotline=ctx.table.hotline), lang=lang,
                quick_replies=(QuickReply(label, label),)))
        if chat.status == "queued":
            await self.notifier.broadcast()

    async def _consent_said(self, chat: Chat, word: ConsentWord, text: str) -> None:
        """"Hide my details" or "可以俾職員睇" written to a person: agents see the details as the
        consent now says (handoff/disclosure.py), the visitor is told so in the language they
        wrote it in, and the consoles here that have the chat open are sent it again. The
        notice is the change's event: consoles on other nodes re-read the chat on it
        (Notifier._to_consoles)."""
        ctx = self.ctx
        before = Disclosure.of(ctx.visitors.context(chat.session_id)).consent
        consent = consent_after(before, word)
        ctx.visitors.record_consent(chat.session_id, consent)
        lang: Lang = "en" if detect_language(text).lang == "en" else "zh"
        agreed = consent == "granted"
        await ctx.visitors.say(chat.session_id, Notice(
            ACK[agreed][lang], lang=lang, kind="consent", meta={"agreed": agreed, "consent": consent}))
        await self.notifier.to_watchers(chat, self.notifier.views.chat_frame(chat))
        self.notifier.changed(chat.id)  # the queue lists' item too

    async def on_visitor_typing(self, session_id: str, on: bool) -> None:
        chat = self.ctx.db().active_chat(session_id)
        if chat is not None and chat.status == "agent":  # to the consoles, on any node
            await self.notifier.typing(session_id, "visitor", bool(on))

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
        """The visitor ended the conversation (and with it any chat with people)."""
        try:
            async with self.ctx.conversations().change(session_id, Close()) as change:
                if change.before is not None:
                    self.ctx.db().audit("visitor", "close", session_id, chat=change.before.id)
        except Rejected:
            return  # closed already
        if change.before is not None:
            await self.notifier.release(change.before, "visitor_closed")
            await self.notifier.refresh()
