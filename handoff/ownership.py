"""Who has a chat: an agent claims it, transfers it to a queue or another agent, hands it back
to the bot or resolves it; an agent who stays offline past the grace period gives their chats
back to the queue. Each change is one transaction, then one ``Notifier.refresh()``.

With several nodes an agent is offline when no live node holds a console of theirs
(handoff/consoles.py). A node that dies closes no console anywhere: every node looks for owners
offline everywhere every ``OWNERS_CHECK_S`` and gives them the same grace period; whichever
node's timer ends first puts the chats back in the queue (the others' changes are refused)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from conversation.channel import Notice
from conversation.lifecycle import EndChat, Event, HandBack, Reassign, Requeue, Resolve
from conversation.owner import Change, Rejected
from handoff import agent_protocol as ap
from handoff import texts
from handoff.agent_protocol import AgentProtocolError
from handoff.assignment import assign
from handoff.commands import Handler
from handoff.context import AgentConn, HandoffContext
from handoff.notifier import Notifier
from handoff.positions import reachable
from handoff.queueing import required_skill
from handoff.store import Agent, Chat
from storage.database import StorageError

log = logging.getLogger(__name__)
OWNERS_CHECK_S = 2.0  # with several nodes: how often owners gone with their node are looked for


class Ownership:
    def __init__(self, ctx: HandoffContext, notifier: Notifier) -> None:
        self.ctx = ctx
        self.notifier = notifier
        self.offline_timers: dict[str, asyncio.Task] = {}  # agent -> requeue of their chats
        self.watcher: asyncio.Task | None = None  # the look for owners gone with their node

    def handlers(self) -> dict[str, Handler]:
        return {ap.Claim.type: self.claim, ap.Transfer.type: self.transfer,
                ap.Handback.type: self.handback, ap.Resolve.type: self.resolve}

    async def claim(self, conn: AgentConn, agent: Agent, frame: ap.Claim) -> None:
        ctx = self.ctx
        db = ctx.db()
        chat = ctx.chat_or_error(frame.chat)
        if agent.role != "supervisor":
            if not ("*" in agent.queues or chat.queue_id in agent.queues):
                raise AgentProtocolError("forbidden", "This chat is not in your queues.", "chat")
            if required_skill(chat.lang) not in agent.langs:
                raise AgentProtocolError("wrong_language", "This chat needs another language skill.", "chat")
            load = sum(1 for c in db.active_chats() if c.owner == agent.username and c.status == "agent")
            if load >= agent.max_chats:
                raise AgentProtocolError("at_capacity", "You already have your maximum number of chats.")
        async with ctx.lock:
            claimed = await assign(ctx, chat.id, agent.username, agent.username, "claim",
                                   queue=chat.queue_id)
            if claimed is not None:
                await self.notifier.open_chat(agent.username, claimed)
        if claimed is None:
            db.audit(agent.username, "claim_lost", chat.session_id, chat=chat.id)
            raise AgentProtocolError("already_claimed", "Another agent has taken this chat.", "chat")
        await self.notifier.refresh()

    async def transfer(self, conn: AgentConn, agent: Agent, frame: ap.Transfer) -> None:
        chat = self.ctx.owned(agent, frame.chat)
        note = frame.note or ""
        if frame.queue is not None:
            await self._to_queue(agent, chat, frame.queue, note)
        else:
            assert frame.agent is not None  # parse lets through exactly one of queue and agent
            await self._to_agent(agent, chat, frame.agent, note)
        await self.notifier.refresh()

    async def _to_queue(self, agent: Agent, chat: Chat, target: str, note: str) -> None:
        ctx = self.ctx
        db = ctx.db()
        lang = ctx.language(chat).lang
        if target not in ctx.table.queues:
            raise AgentProtocolError("unknown_queue", "No such queue.", "queue")
        async with ctx.lock:
            # One transaction: the chat back in a queue, the note, the audit row, the
            # visitor's notice and new place in the queue.
            async with _changing(ctx, chat, Requeue(target)) as change:
                db.add_note(chat.id, agent.username, "transfer", f"→ {target}: {note}".strip())
                db.audit(agent.username, "transfer", chat.session_id, chat=chat.id, queue=target,
                         note=note)
                await ctx.visitors.say(chat.session_id, Notice(texts.say(
                    texts.TRANSFERRED_QUEUE, lang, queue=ctx.table.queue(target).name(lang)),
                    lang=lang))
            await self.notifier.release(chat, "transferred")
            _remember_place(ctx, chat.id, change)

    async def _to_agent(self, agent: Agent, chat: Chat, username: str, note: str) -> None:
        ctx = self.ctx
        db = ctx.db()
        lang = ctx.language(chat).lang
        target = db.agent(username)
        if target is None or target.disabled:
            raise AgentProtocolError("unknown_agent", "No such agent.", "agent")
        if target.username == chat.owner:  # nothing to move: the lifecycle would refuse it
            raise AgentProtocolError("already_owner", "This chat is already yours." if
                                     target.username == agent.username else
                                     "That agent already has this chat.", "agent")
        if not reachable(ctx, target.username):  # a console on this node or another live one
            raise AgentProtocolError("agent_offline", "That agent is not online.", "agent")
        if required_skill(chat.lang) not in target.langs:
            raise AgentProtocolError("wrong_language", "That agent lacks the chat's language.", "agent")
        full = AgentProtocolError("at_capacity", "That agent has no free chat slot.", "agent")
        load = sum(1 for c in db.active_chats() if c.owner == target.username and c.status == "agent")
        if load >= target.max_chats:
            raise full
        # One transaction: the new owner, the note, the audit row, the visitor's notice and state.
        async with _changing(ctx, chat, Reassign(target.username)):
            # Another node may have given the target a chat since the count above: their row
            # locked, the chats counted again, and the transfer undone if one too many.
            if not db.agents_repo.within_capacity(target.username):
                raise full
            db.add_note(chat.id, agent.username, "transfer",
                        f"→ {target.username}: {note}".strip())
            db.audit(agent.username, "transfer", chat.session_id, chat=chat.id,
                     agent=target.username, note=note)
            await ctx.visitors.say(chat.session_id, Notice(
                texts.say(texts.TRANSFERRED_AGENT, lang, agent=target.name), lang=lang))
        await self.notifier.release(chat, "transferred")
        ctx.last_assigned[target.username] = now = time.time()
        if ctx.consoles is not None:  # the other nodes' plans put the target behind their equals
            ctx.consoles.assigned(target.username, now)
        await self.notifier.open_chat(target.username, ctx.stored_chat(chat.id))

    async def handback(self, conn: AgentConn, agent: Agent, frame: ap.Handback) -> None:
        await self._finish(agent, frame, HandBack(), "handback")

    async def resolve(self, conn: AgentConn, agent: Agent, frame: ap.Resolve) -> None:
        await self._finish(agent, frame, Resolve(), "resolve")

    async def _finish(self, agent: Agent, frame: ap.Handback | ap.Resolve,
                      event: HandBack | Resolve, action: str) -> None:
        ctx = self.ctx
        db = ctx.db()
        chat = ctx.owned(agent, frame.chat)
        lang = ctx.language(chat).lang
        async with _changing(ctx, chat, event) as change:
            if frame.note:
                db.add_note(chat.id, agent.username, action, frame.note)
            db.audit(agent.username, action, chat.session_id, chat=chat.id, note=frame.note)
            if isinstance(event, HandBack):
                notice = Notice(texts.say(texts.HANDED_BACK, lang), lang=lang)
            else:
                notice = Notice(texts.say(texts.RESOLVED, lang), lang=lang, kind="notice")
            await ctx.visitors.say(chat.session_id, notice)
        ended = next(e for e in change.transition.effects if isinstance(e, EndChat))
        await self.notifier.release(chat, ended.outcome)
        await self.notifier.refresh()

    # ------------------------------------------------------------------ agents who leave
    def start_offline_timer(self, username: str) -> None:
        if username not in self.offline_timers:
            self.offline_timers[username] = asyncio.create_task(self._requeue_when_gone(username))

    def back_online(self, username: str) -> None:
        timer = self.offline_timers.pop(username, None)
        if timer is not None:
            timer.cancel()  # back in time: the agent keeps their chats

    def stop(self) -> None:
        for timer in self.offline_timers.values():
            timer.cancel()
        self.offline_timers.clear()
        if self.watcher is not None:
            self.watcher.cancel()
            self.watcher = None

    def watch_other_nodes(self) -> None:
        """Several nodes: look for owners offline everywhere every ``OWNERS_CHECK_S``."""
        if self.ctx.consoles is not None and self.watcher is None:
            self.watcher = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(OWNERS_CHECK_S)
            try:
                owners = {owner for _, owner, _ in self.ctx.db().owned_rows() if owner}
                for username in self._offline(owners):
                    self.start_offline_timer(username)
                await self.notifier.agents_elsewhere()
            except StorageError:  # looked for again at the next check
                log.warning("owners gone with their node not looked for", exc_info=True)

    def _offline(self, usernames: set[str]) -> set[str]:
        """Those of ``usernames`` with no console here nor on another live node."""
        ctx = self.ctx
        gone = {u for u in usernames if not ctx.conns.get(u)}
        return ctx.consoles.gone(gone) if ctx.consoles is not None and gone else gone

    async def _requeue_when_gone(self, username: str) -> None:
        """After the grace period, an agent still offline gives their chats back to the queue,
        where they keep their original place (the front: they waited longest)."""
        ctx = self.ctx
        await asyncio.sleep(ctx.settings.agent_reconnect_grace_s)
        self.offline_timers.pop(username, None)
        if ctx.store is None or not self._offline({username}):
            return  # back, here or on another node
        db = ctx.db()
        for chat in db.active_chats():
            if chat.status != "agent" or chat.owner != username:
                continue
            lang = ctx.language(chat).lang
            async with ctx.lock:
                try:
                    async with ctx.conversations().change(chat.session_id, Requeue(chat.queue_id),
                                                          about=chat) as change:
                        db.audit("system", "requeue_agent_offline", chat.session_id,
                                 chat=chat.id, agent=username)
                        await ctx.visitors.say(chat.session_id, Notice(
                            texts.say(texts.AGENT_DISCONNECTED, lang), lang=lang))
                except Rejected:
                    continue  # resolved, handed back or transferred meanwhile
                await self.notifier.release(chat, "agent_offline")
                _remember_place(ctx, chat.id, change)
        await self.notifier.refresh()


@asynccontextmanager
async def _changing(ctx: HandoffContext, chat: Chat, event: Event) -> AsyncIterator[Change]:
    """An agent's change of the chat they have open; a console that saw it stale is told so."""
    try:
        async with ctx.conversations().change(chat.session_id, event, about=chat) as change:
            yield change
    except Rejected as rejected:
        raise AgentProtocolError("not_active", "The chat changed; reload it.", "chat") from rejected


def _remember_place(ctx: HandoffContext, chat_id: int, change: Change) -> None:
    """What a chat back in a queue was told, so the next refresh does not repeat it."""
    assert change.told is not None  # a chat back in a queue is always told where it waits
    assert change.told.position is not None
    ctx.announced[chat_id] = (change.told.position, change.told.eta_s)
