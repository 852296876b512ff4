"""What an agent does inside a chat without changing who has it: open it, write to the visitor,
type, add a private note, and ask the knowledge base for answers (assist)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from conversation.channel import Notice
from conversation.events import Stored, Visitor
from handoff import agent_frames as af
from handoff import agent_protocol as ap
from handoff.agent_protocol import AgentProtocolError
from handoff.commands import Handler
from handoff.context import AgentConn, HandoffContext
from handoff.notifier import Notifier
from handoff.store import Agent

# Visitor turns that carry no question (the bot's NLU reading says so): agent assist skips them.
NOT_QUESTIONS = {"greet", "goodbye", "thanks", "affirm", "deny", "choose_language", "smalltalk",
                 "request_human", "option_port_clearance", "option_entry_exit_documents",
                 "option_comments_suggestions"}


class ChatWork:
    def __init__(self, ctx: HandoffContext, notifier: Notifier) -> None:
        self.ctx = ctx
        self.notifier = notifier

    def handlers(self) -> dict[str, Handler]:
        return {ap.View.type: self.view, ap.Send.type: self.send, ap.Typing.type: self.typing,
                ap.Note.type: self.note, ap.Assist.type: self.assist}

    async def view(self, conn: AgentConn, agent: Agent, frame: ap.View) -> None:
        chat = self.ctx.chat_or_error(frame.chat)
        # Agents read waiting and past chats of their queues (search, history) and their own.
        if agent.role != "supervisor" and chat.owner != agent.username and not (
                chat.status != "agent" and ("*" in agent.queues or chat.queue_id in agent.queues)):
            raise AgentProtocolError("forbidden", "You cannot open this chat.", "chat")
        self.ctx.db().audit(agent.username, "view", chat.session_id, chat=chat.id)
        if chat.status in ("queued", "agent"):
            conn.viewing.add(chat.id)
        await conn.send(self.notifier.views.chat_frame(chat))

    async def send(self, conn: AgentConn, agent: Agent, frame: ap.Send) -> None:
        chat = self.ctx.owned(agent, frame.chat)
        event = await self.ctx.visitors.say(chat.session_id, Notice(
            frame.text, sender="agent", agent=agent.name, kind="agent"))
        self.ctx.db().audit(agent.username, "send", chat.session_id, chat=chat.id,
                            seq=event.seq, chars=len(frame.text))
        await conn.send(af.Sent(chat=chat.id, id=frame.id, seq=event.seq))
        await self.notifier.to_watchers(chat, af.Event(chat=chat.id, event=event.to_wire()))

    async def typing(self, conn: AgentConn, agent: Agent, frame: ap.Typing) -> None:
        chat = self.ctx.owned(agent, frame.chat)
        await self.notifier.typing(chat.session_id, "agent", frame.on)  # on the visitor's node

    async def note(self, conn: AgentConn, agent: Agent, frame: ap.Note) -> None:
        """A private note on a chat: agents see it with the chat, the visitor never does."""
        chat = self.ctx.chat_or_error(frame.chat)
        if agent.role != "supervisor" and chat.owner != agent.username and not (
                "*" in agent.queues or chat.queue_id in agent.queues):
            raise AgentProtocolError("forbidden", "You cannot add notes to this chat.", "chat")
        if chat.purged_at is not None:  # a note would be personal data the purge never sees again
            raise AgentProtocolError("purged", "This chat's content was removed under the "
                                     "retention policy.", "chat")
        db = self.ctx.db()
        db.add_note(chat.id, agent.username, "note", frame.text)
        db.audit(agent.username, "note", chat.session_id, chat=chat.id, chars=len(frame.text))
        notes = af.Notes(chat=chat.id, notes=db.notes(chat.session_id))
        await conn.send(notes)
        await self.notifier.notes(chat, notes)

    async def assist(self, conn: AgentConn, agent: Agent, frame: ap.Assist) -> None:
        ctx = self.ctx
        chat = ctx.chat_or_error(frame.chat)
        if agent.role != "supervisor" and chat.owner != agent.username:
            raise AgentProtocolError("not_owner", "Claim the chat first.", "chat")
        if ctx.retriever is None:
            raise AgentProtocolError("assist_unavailable", "The knowledge base is not loaded.")
        query = (frame.query or last_question(ctx.visitors.transcript(chat.session_id))
                 or chat.summary)
        if not query:
            raise AgentProtocolError("empty", "The visitor has not asked anything yet.", "query")
        told = ctx.language(chat)
        lang, answer_script = told.lang, told.script
        answers = await asyncio.to_thread(knowledge_answers, ctx.retriever, query, lang,
                                          answer_script)
        ctx.db().audit(agent.username, "assist", chat.session_id, chat=chat.id, hits=len(answers))
        # The knowledge base is asked the visitor's words as written; the agent is shown them as
        # every other view of the chat shows them (handoff/disclosure.py).
        shown = self.notifier.views.disclosure(chat).text(query) or query
        await conn.send(af.Assist(chat=chat.id, query=shown, lang=lang, script=answer_script,
                                  answers=answers))


def last_question(events: list[Stored]) -> str | None:
    """The visitor's last message that asks something (messages sent to an agent have no NLU
    reading and count as questions)."""
    for stored in reversed(events):
        event = stored.event
        if isinstance(event, Visitor) and event.text and (event.meta or {}).get("intent") not in NOT_QUESTIONS:
            return event.text
    return None


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    return value


def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def knowledge_answers(retriever: Any, query: str, lang: str, script: str) -> list[dict[str, Any]]:
    """Top three knowledge answers for the query, written in the visitor's language and script."""
    result = retriever.search(query, k=5)
    answers, seen = [], set()
    for hit in getattr(result, "hits", []):
        if hit.entry_id in seen:
            continue
        seen.add(hit.entry_id)
        ans = _plain(retriever.answer(hit.entry_id, lang=lang, script=script))
        answers.append({
            "entry_id": hit.entry_id, "score": round(float(getattr(hit, "score", 0.0)), 4),
            "title": _field(ans, "title"), "short": _field(ans, "short"), "text": _field(ans, "text"),
            "sources": _field(ans, "sources") or [], "as_of": _field(ans, "as_of"),
        })
        if len(answers) == 3:
            break
    return answers
