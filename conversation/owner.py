"""The one component that changes who holds a conversation.

Everything else decides which ``lifecycle`` event to apply (the handoff service: an escalation,
a claim, a transfer; the server: a visitor closing or writing again) and asks this owner. The
owner takes the conversation's lock, reads the conversation as it is, applies the pure
transition, writes the new state and lets the caller add its own rows (audit, notes, notices)
in the same transaction; the visitor's ``state`` frame is stored last, through the visitor
channel (conversation/channel.py), and like every event reaches the sockets only once the
transaction committed.

Where the state lives (one record, storage/conversations.py reads it back as ``state``): an
open handoff chat (``handoff_chats``, status queued or agent) says a person is involved;
without one, ``sessions.closed`` says closed or the bot's.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from conversation import lifecycle as lc
from conversation.channel import Told, VisitorChannel
from conversation.lifecycle import Conversation, Event, Holder, Refused, Transition
from conversation.locks import SessionLocks
from storage.agents import Agents
from storage.chats import Chat, Chats, NewChat
from storage.conversations import Conversations
from storage.database import Database

# A waiting chat's position in its queue and estimated wait (the handoff service knows who is
# online, so it computes them).
Place = Callable[[int], tuple[int, int | None]]


class Rejected(Exception):
    """The event does not apply to the conversation as it is now: the lifecycle refuses it, or
    the chat it was about changed since the caller read it (a stale click, a lost race)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Change:
    """A change being made. ``before`` and ``after`` are the handoff chat it concerns as it was
    and as it is now (None while the bot alone has the conversation)."""

    transition: Transition
    before: Chat | None
    after: Chat | None
    told: Told | None


class ConversationOwner:
    def __init__(self, database: Database, visitors: VisitorChannel, place: Place,
                 chat_changed: Callable[[int], None]) -> None:
        self.database = database
        self.visitors = visitors
        self.place = place
        self.chat_changed = chat_changed  # called with a chat's id once its change committed
        self.sessions = Conversations(database)
        self.chats = Chats(database)
        self.agents = Agents(database)
        self.locks = SessionLocks()

    def current(self, session_id: str) -> Conversation:
        return self._conversation(session_id, self.chats.active_of(session_id))

    async def apply(self, session_id: str, event: Event, *, about: Chat | None = None,
                    opening: NewChat | None = None) -> Change:
        """``change`` with nothing of the caller's to add."""
        async with self.change(session_id, event, about=about, opening=opening) as change:
            return change

    @asynccontextmanager
    async def change(self, session_id: str, event: Event, *, about: Chat | None = None,
                     opening: NewChat | None = None) -> AsyncIterator[Change]:
        """Apply ``event`` in one transaction that the caller's block joins; raise ``Rejected``
        when it does not apply. ``about``: the chat as the caller read it (the change is
        rejected if it has changed since); ``opening``: where an escalation's chat waits."""
        if self.database.in_transaction:
            # Waiting for the lock inside an open transaction would let other coroutines' writes
            # join it.
            raise RuntimeError("a change of holder is a transaction of its own")
        async with self.locks.hold(session_id):
            with self.database.transaction():
                before = self.chats.active_of(session_id)
                if about is not None and not _same(about, before):
                    raise Rejected("the chat changed meanwhile")
                result = lc.apply(self._conversation(session_id, before), event)
                if isinstance(result, Refused):
                    raise Rejected(result.reason)
                after = self._write(session_id, result, before, opening)
                told = self._told(result, after)
                yield Change(result, before, after, told)
                if told is not None:  # after the caller's notices: the frame comes last
                    await self.visitors.tell(session_id, told)
                if after is not None and any(isinstance(e, lc.QueuesChanged) for e in result.effects):
                    chat_id = after.id
                    self.database.after_commit(lambda: self.chat_changed(chat_id))

    async def announce(self, session_id: str, position: int, eta_s: int | None) -> None:
        """A waiting visitor's new place in the queue: no change of holder, a new frame."""
        async with self.locks.hold(session_id):
            conv = self.current(session_id)
            if conv.holder is Holder.QUEUED:
                await self.visitors.tell(session_id, Told(Holder.QUEUED, queue=conv.queue,
                                                          position=position, eta_s=eta_s))

    # Reading and writing the one record ------------------------------------------------------

    def _conversation(self, session_id: str, chat: Chat | None) -> Conversation:
        if chat is not None:
            holder = Holder(chat.status)
            return Conversation(holder, queue=chat.queue_id,
                                agent=chat.owner if holder is Holder.AGENT else None,
                                leaving_message=chat.leaving_message and holder is Holder.QUEUED)
        session = self.sessions.get(session_id)
        if session is None:
            raise Rejected(f"no conversation {session_id!r}")
        return Conversation(Holder.CLOSED if session.state == Holder.CLOSED else Holder.BOT)

    def _write(self, session_id: str, t: Transition, before: Chat | None,
               opening: NewChat | None) -> Chat | None:
        """The new state, written; the chat it concerns, read back."""
        now = time.time()
        chat_id = before.id if before is not None else None
        if before is None and t.after.holder is Holder.QUEUED:  # an escalation
            if opening is None or opening.queue_id != t.after.queue:
                raise ValueError("an escalation opens a chat in the queue it names")
            chat_id = self.chats.open(session_id, opening, now)
        done = self._move(t, before, now) if before is not None else True
        if not done:  # another process changed the row between our read and write
            raise Rejected("the chat changed meanwhile")
        if t.before.holder is Holder.CLOSED or t.after.holder is Holder.CLOSED:
            self.sessions.set_closed(session_id, t.after.holder is Holder.CLOSED)
        return self.chats.get(chat_id) if chat_id is not None else None

    def _move(self, t: Transition, chat: Chat, now: float) -> bool:
        """The open chat's row after the transition: claimed, moved, given on, or ended."""
        after = t.after
        ended = next((e for e in t.effects if isinstance(e, lc.EndChat)), None)
        if ended is not None:
            status = "closed" if after.holder is Holder.CLOSED else "bot"
            return self.chats.end(chat.id, status=status, outcome=ended.outcome, now=now)
        if after.holder is Holder.AGENT and t.before.holder is Holder.QUEUED:
            assert after.agent is not None  # an agent-held conversation names its agent
            return self.chats.claim(chat.id, after.agent, now)
        if after.holder is Holder.AGENT:
            assert after.agent is not None
            return self.chats.give_to(chat.id, chat.owner, after.agent, now)
        if after.holder is Holder.QUEUED and t.before.holder is Holder.AGENT:
            assert after.queue is not None  # a waiting conversation names its queue
            return self.chats.move_to_queue(chat.id, chat.owner, after.queue, now)
        if after.leaving_message != t.before.leaving_message:
            self.chats.set_leaving_message(chat.id, after.leaving_message)
        return True

    def _told(self, t: Transition, chat: Chat | None) -> Told | None:
        tell = next((e for e in t.effects if isinstance(e, lc.TellVisitor)), None)
        if tell is None:
            return None
        after = t.after
        if after.holder is Holder.QUEUED:
            assert chat is not None  # a waiting conversation has its chat
            position, eta_s = self.place(chat.id)
            return Told(Holder.QUEUED, queue=after.queue, position=position, eta_s=eta_s)
        if after.holder is Holder.AGENT:
            assert after.agent is not None
            agent = self.agents.get(after.agent)
            return Told(Holder.AGENT, agent=agent.name if agent is not None else after.agent)
        return Told(after.holder, rating=True if tell.rating else None)


def _same(seen: Chat, now: Chat | None) -> bool:
    return now is not None and (now.id, now.status, now.owner) == (seen.id, seen.status, seen.owner)
