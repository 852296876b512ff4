"""Who has a chat: an agent claims it, transfers it to a queue or another agent, hands it back
to the bot or resolves it; an agent who stays offline past the grace period gives their chats
back to the queue. Each change is one transaction, then one ``Notifier.refresh()``."""

from __future__ import annotations

import asyncio
import time

from handoff import agent_protocol as ap
from handoff import texts
from handoff.agent_protocol import AgentProtocolError
from handoff.assignment import assign
from handoff.commands import Handler
from handoff.context import AgentConn, HandoffContext
from handoff.notifier import Notifier
from handoff.positions import position_of
from handoff.queueing import required_skill
from handoff.store import Agent, Chat


class Ownership:
    def __init__(self, ctx: HandoffContext, notifier: Notifier) -> None:
        self.ctx = ctx
        self.notifier = notifier
        self.offline_timers: dict[str, asyncio.Task] = {}  # agent -> requeue of their chats

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
        lang, script = ctx.visitor_lang(chat)
        now = time.time()
        if target not in ctx.table.queues:
            raise AgentProtocolError("unknown_queue", "No such queue.", "queue")
        async with ctx.lock:
            # One transaction: the chat back in a queue, the note, the audit row, the
            # visitor's notice and new place in the queue.
            with db.database.transaction():
                if not db.move_to_queue(chat.id, chat.owner, target, now):
                    raise AgentProtocolError("not_active", "The chat changed; reload it.", "chat")
                db.add_note(chat.id, agent.username, "transfer", f"→ {target}: {note}".strip())
                db.audit(agent.username, "transfer", chat.session_id, chat=chat.id, queue=target,
                         note=note)
                await ctx.hub.reply(chat.session_id, texts.say(
                    texts.TRANSFERRED_QUEUE, lang, script, queue=ctx.table.queue(target).name(lang)),
                    sender="system", lang=lang, kind="handoff")
                pos, eta = position_of(ctx, chat.id)
                await ctx.hub.set_state(chat.session_id, "queued", queue=target, position=pos,
                                        eta_s=eta)
            await self.notifier.release(chat, "transferred")
            ctx.announced[chat.id] = (pos, eta)

    async def _to_agent(self, agent: Agent, chat: Chat, username: str, note: str) -> None:
        ctx = self.ctx
        db = ctx.db()
        lang, script = ctx.visitor_lang(chat)
        now = time.time()
        target = db.agent(username)
        if target is None or target.disabled:
            raise AgentProtocolError("unknown_agent", "No such agent.", "agent")
        if not ctx.conns.get(target.username):
            raise AgentProtocolError("agent_offline", "That agent is not online.", "agent")
        if required_skill(chat.lang) not in target.langs:
            raise AgentProtocolError("wrong_language", "That agent lacks the chat's language.", "agent")
        load = sum(1 for c in db.active_chats() if c.owner == target.username and c.status == "agent")
        if load >= target.max_chats:
            raise AgentProtocolError("at_capacity", "That agent has no free chat slot.", "agent")
        # One transaction: the new owner, the note, the audit row, the visitor's notice and state.
        with db.database.transaction():
            if not db.give_to(chat.id, chat.owner, target.username, now):
                raise AgentProtocolError("not_active", "The chat changed; reload it.", "chat")
            db.add_note(chat.id, agent.username, "transfer",
                        f"→ {target.username}: {note}".strip())
            db.audit(agent.username, "transfer", chat.session_id, chat=chat.id,
                     agent=target.username, note=note)
            await ctx.hub.reply(chat.session_id, texts.say(texts.TRANSFERRED_AGENT, lang, script,
                                                           agent=target.name),
                                sender="system", lang=lang, kind="handoff")
            await ctx.hub.set_state(chat.session_id, "agent", agent=target.name)
        await self.notifier.release(chat, "transferred")
        ctx.last_assigned[target.username] = now
        await self.notifier.open_chat(target.username, ctx.stored_chat(chat.id))

    async def handback(self, conn: AgentConn, agent: Agent, frame: ap.Handback) -> None:
        await self._finish(agent, frame, status="bot", outcome="handed_back", action="handback")

    async def resolve(self, conn: AgentConn, agent: Agent, frame: ap.Resolve) -> None:
        await self._finish(agent, frame, status="closed", outcome="resolved", action="resolve")

    async def _finish(self, agent: Agent, frame: ap.Handback | ap.Resolve, *, status: str,
                      outcome: str, action: str) -> None:
        ctx = self.ctx
        db = ctx.db()
        chat = ctx.owned(agent, frame.chat)
        lang, script = ctx.visitor_lang(chat)
        with db.database.transaction():
            if not db.end(chat.id, status=status, outcome=outcome, now=time.time(),
                          owner=chat.owner, check_owner=True):
                raise AgentProtocolError("not_active", "The chat changed; reload it.", "chat")
            if frame.note:
                db.add_note(chat.id, agent.username, action, frame.note)
            db.audit(agent.username, action, chat.session_id, chat=chat.id, note=frame.note)
            if status == "bot":
                await ctx.hub.reply(chat.session_id, texts.say(texts.HANDED_BACK, lang, script),
                                    sender="system", lang=lang, kind="handoff")
                await ctx.hub.set_state(chat.session_id, "bot")
            else:
                await ctx.hub.reply(chat.session_id, texts.say(texts.RESOLVED, lang, script),
                                    sender="system", lang=lang, kind="notice")
                await ctx.hub.set_state(chat.session_id, "closed", rating=True)
        await self.notifier.release(chat, outcome)
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

    async def _requeue_when_gone(self, username: str) -> None:
        """After the grace period, an agent still offline gives their chats back to the queue,
        where they keep their original place (the front: they waited longest)."""
        ctx = self.ctx
        await asyncio.sleep(ctx.settings.agent_reconnect_grace_s)
        self.offline_timers.pop(username, None)
        if ctx.conns.get(username) or ctx.store is None:
            return
        db = ctx.db()
        for chat in db.active_chats():
            if chat.status != "agent" or chat.owner != username:
                continue
            lang, script = ctx.visitor_lang(chat)
            async with ctx.lock:
                with db.database.transaction():
                    if not db.move_to_queue(chat.id, username, chat.queue_id, time.time()):
                        continue
                    db.audit("system", "requeue_agent_offline", chat.session_id, chat=chat.id,
                             agent=username)
                    await ctx.hub.reply(chat.session_id, texts.say(texts.AGENT_DISCONNECTED, lang,
                                                                   script),
                                        sender="system", lang=lang, kind="handoff")
                    pos, eta = position_of(ctx, chat.id)
                    await ctx.hub.set_state(chat.session_id, "queued", queue=chat.queue_id,
                                            position=pos, eta_s=eta)
                await self.notifier.release(chat, "agent_offline")
                ctx.announced[chat.id] = (pos, eta)
        await self.notifier.refresh()
