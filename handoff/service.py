"""Human handoff: routing, queues, ownership and the agent websocket (/agent/ws).

The SQLite tables (handoff/store.py) are the only source of truth for queue state and ownership,
so a restart loses nothing; what lives in memory is only who is connected right now.
The server constructs ``HandoffService(settings, hub, retriever)``, awaits ``start()``, calls
``escalate()`` and the ``on_visitor_*`` hooks and hands every /agent/ws socket to
``handle_agent_connection``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import tomllib
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from websockets.exceptions import ConnectionClosed

from handoff import agent_frames as af
from handoff import agent_protocol as ap
from handoff import texts
from handoff.agent_protocol import AgentProtocolError, parse
from handoff.auth import Authenticator, AuthError, LockoutPolicy
from handoff.queueing import (
    AgentState,
    Waiting,
    average_handle_s,
    capacity,
    eligible,
    eta_s,
    plan_assignments,
    positions,
    required_skill,
    serves,
)
from handoff.routing import Route, RoutingTable, load_table, route
from handoff.settings import HandoffSettings
from handoff.store import Agent, Chat, HandoffStore, find_ticket_ref
from runtime.frames import Error, Frame, Pong
from runtime.offload import Offload
from runtime.ratelimit import TokenBucket
from storage.sqlite import SQLiteDatabase

log = logging.getLogger("handoff")

CANNED_FILE = Path(__file__).resolve().parent / "canned.toml"
UNAUTHORIZED_CLOSE = 4401


class HubLike(Protocol):  # the parts of bot.hub.Hub this module uses (SERVER_CONTRACT.md)
    async def reply(self, session_id: str, text: str, *, sender: str, lang: str | None = None,
                    kind: str = "notice", agent: str | None = None, quick_replies: Any = (),
                    meta: dict | None = None) -> dict: ...
    async def set_state(self, session_id: str, state: str, *, queue: str | None = None,
                        position: int | None = None, eta_s: int | None = None,
                        agent: str | None = None, rating: bool | None = None) -> dict: ...
    async def typing(self, session_id: str, sender: str, on: bool) -> None: ...
    def session(self, session_id: str) -> Any: ...
    def events(self, session_id: str, after_seq: int = 0) -> list[dict]: ...


@dataclass(eq=False)
class AgentConn:
    ws: Any
    ip: str | None = None
    username: str | None = None
    token_hash: str | None = None
    viewing: set[int] = field(default_factory=set)
    synced: bool = False  # has had a full `queues` snapshot; from then on `queues_delta` frames

    async def send(self, frame: Frame) -> None:
        try:
            # default=str: dates (an answer's "as of") travel as ISO strings.
            await self.ws.send(json.dumps(frame.to_wire(), ensure_ascii=False, default=str))
        except ConnectionClosed:
            pass


def load_canned(path: Path = CANNED_FILE) -> list[dict[str, str]]:
    with open(path, "rb") as fh:
        return list(tomllib.load(fh).get("reply", []))


TICKET_MISSES_PER_HOUR = 10


class HandoffService:
    def __init__(self, settings: HandoffSettings, hub: HubLike, retriever: Any | None) -> None:
        self.settings = settings
        # The hub's database (bot.hub.Hub's: the conversation store's), so that a handoff and
        # the conversation's state change in one transaction; a hub without one (a test's):
        # the service opens the file itself.
        self.database: SQLiteDatabase | None = getattr(hub, "database", None)
        self.hub = hub
        self.retriever = retriever
        self.table: RoutingTable = load_table(settings.routing_file)
        self.canned = load_canned()
        self.store: HandoffStore | None = None
        self.auth: Authenticator | None = None
        self.conns: dict[str, set[AgentConn]] = {}
        self.accepting: dict[str, bool] = {}
        self.last_assigned: dict[str, float] = {}
        self.announced: dict[int, tuple[int, int | None]] = {}  # chat id -> (position, eta) sent
        self.offline_timers: dict[str, asyncio.Task] = {}  # agent -> requeue of their chats
        self.ghost_timers: dict[str, asyncio.Task] = {}  # session -> drop of its queued chat
        self.escalations: dict[str, deque[float]] = {}  # "s:"+session / "ip:"+ip -> times
        # Agents get a full snapshot once, then only what changed: the chats changed since the
        # last broadcast, and a cache of each active chat's item (without per-agent fields).
        self.dirty: set[int] = set()
        self.items: dict[int, dict[str, Any]] = {}
        self.last_texts: dict[int, str | None] = {}
        self._tasks: set[asyncio.Task] = set()
        self.ticket_misses: dict[str, list[float]] = {}  # client address -> unknown numbers tried
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self.store = HandoffStore(self.database or self.settings.store_path)
        self.store.on_change = self._changed
        window = self.table.failure_window_s or self.settings.agent_lockout_s
        self.auth = Authenticator(
            self.store,
            LockoutPolicy(self.settings.agent_max_failures, window, self.settings.agent_lockout_s),
            self.settings.agent_token_ttl_s,
            Offload("argon2", workers=1, queue=self.settings.offload_queue))
        # A chat whose conversation left queued/agent while we were down (expired, closed) is
        # over; everything else is kept exactly as it was.
        for chat in self.store.active_chats():
            info = self.hub.session(chat.session_id)
            if info is None or info.state not in ("queued", "agent"):
                self.store.end(chat.id, status="closed", outcome="stale", now=time.time())
                self.store.audit("system", "stale", chat.session_id, chat=chat.id)
        # Queued visitors keep their place; remember what they were last told so a restart does
        # not flood them with identical position updates.
        for chat_id, pos, eta in self._queue_positions():
            self.announced[chat_id] = (pos, eta)
        # Visitors waiting in the queue get the grace period to reconnect after a restart.
        for chat in self.store.active_chats():
            if chat.status == "queued":
                self._start_ghost_timer(chat.session_id)
        # Agents who owned chats get the same grace to reconnect after a restart.
        for owner in {c.owner for c in self.store.active_chats() if c.status == "agent" and c.owner}:
            self._start_offline_timer(owner)

    async def stop(self) -> None:
        for timer in [*self.offline_timers.values(), *self.ghost_timers.values()]:
            timer.cancel()
        self.offline_timers.clear()
        self.ghost_timers.clear()
        for conns in list(self.conns.values()):
            for conn in list(conns):
                await conn.ws.close(1012, "service restart")
        self.conns.clear()
        if self.store is not None:
            self.store.close()
            self.store = None

    def _db(self) -> HandoffStore:
        if self.store is None:
            raise RuntimeError("HandoffService.start() has not been awaited")
        return self.store

    def _authenticator(self) -> Authenticator:
        if self.auth is None:
            raise RuntimeError("HandoffService.start() has not been awaited")
        return self.auth

    def _stored_chat(self, chat_id: int) -> Chat:
        """A chat this service has just written or read: it is in the store."""
        chat = self._db().chat(chat_id)
        if chat is None:
            raise LookupError(f"handoff chat {chat_id} vanished from the store")
        return chat

    def _stored_agent(self, username: str) -> Agent:
        """An agent this service has just read (chats keep their owner's account: never deleted)."""
        agent = self._db().agent(username)
        if agent is None:
            raise LookupError(f"agent {username!r} vanished from the store")
        return agent

    # ------------------------------------------------------------------ server-facing API
    def regions(self) -> list[str]:
        return [r.zh for r in self.table.regions]

    def queue_lengths(self) -> dict[str, int]:
        counts = {q: 0 for q in self.table.queues}
        for queue, (n, _) in self._db().queue_stats().items():
            counts[queue] = n
        return counts

    def route(self, lang: str, business_option: str | None, region: str | None,
              overseas: bool) -> Route:
        return route(lang, business_option, region, overseas, self.table)

    async def escalate(self, session_id: str, *, lang: str, business_option: str | None,
                       region: str | None, overseas: bool, summary: str, reason: str) -> None:
        db = self._db()
        r = self.route(lang, business_option, region, overseas)
        existing = db.active_chat(session_id)
        if existing is None and not self._may_escalate(session_id):
            db.audit("system", "escalation_limited", session_id, reason=reason)
            info = self.hub.session(session_id)
            vlang = "en" if (getattr(info, "lang", None) or lang) == "en" else "zh"
            await self.hub.reply(session_id, texts.say(
                texts.ESCALATION_LIMITED, vlang, getattr(info, "script", None),
                hotline=self.table.hotline), sender="system", lang=vlang, kind="handoff")
            return
        # One transaction: the chat in the queue, the audit row, the visitor's notice and the
        # conversation's state (nothing in it waits on a socket; the hub pushes after commit).
        with db.database.transaction():
            chat = db.open_chat(session_id, queue_id=r.queue_id, lang=lang,
                                business_option=business_option, region=r.region, city=r.city,
                                overseas=overseas, summary=summary[:300], reason=reason,
                                rule=r.rule, now=time.time())
            db.audit("system", "escalate", session_id, chat=chat.id, queue=chat.queue_id,
                     rule=r.rule, reason=reason, repeated=existing is not None)
            if existing is None or existing.status == "queued":
                await self._tell_queued(chat)
        if chat.status == "queued" and not self._visitor_online(session_id):
            self._start_ghost_timer(session_id)  # asked and left before the answer came
        await self._refresh()

    def _may_escalate(self, session_id: str) -> bool:
        """At most ``escalations_per_session`` new chats per conversation and
        ``escalations_per_ip`` per client address in the sliding window; counts this one."""
        now = time.time()
        window = self.settings.escalation_window_s
        ip = getattr(self.hub, "ip_of", lambda s: None)(session_id)
        keys = [(f"s:{session_id}", self.settings.escalations_per_session)]
        if ip:
            keys.append((f"ip:{ip}", self.settings.escalations_per_ip))
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
        """Client addresses remembered for ticket-number misses, once their hour has passed, and
        escalation counters with nothing left in their window (called after each purge)."""
        self.ticket_misses = {client: misses for client, misses in self.ticket_misses.items()
                              if any(now - t < 3600 for t in misses)}
        window = getattr(self.settings, "escalation_window_s", 3600.0)
        self.escalations = {key: times for key, times in self.escalations.items()
                            if times and times[-1] > now - window}

    def _visitor_online(self, session_id: str) -> bool:
        return bool(getattr(self.hub, "is_online", lambda s: True)(session_id))

    # ------------------------------------------------------------------ visitors who leave
    def on_visitor_online(self, session_id: str) -> None:
        timer = self.ghost_timers.pop(session_id, None)
        if timer is not None:
            timer.cancel()
        self._visitor_changed(session_id)

    def _visitor_changed(self, session_id: str) -> None:
        """The visitor's online flag, channel or language may have changed."""
        if self.store is not None and (self.conns or self.items):
            chat = self._db().active_chat(session_id)
            if chat is not None:
                self._changed(chat.id)
                self._push_soon()

    def _push_soon(self) -> None:
        """Agents see a visitor go offline or come back on the chat's card at once."""
        task = asyncio.get_running_loop().create_task(self._broadcast())
        self._tasks.add(task)  # keep a reference until it ran
        task.add_done_callback(self._tasks.discard)

    def on_visitor_offline(self, session_id: str) -> None:
        """The visitor's last connection closed: a queued chat waits ``visitor_gone_grace_s``
        for them to come back before it leaves the queue."""
        if self.store is None:
            return
        chat = self._db().active_chat(session_id)
        if chat is not None:
            self._changed(chat.id)
            self._push_soon()
        if chat is not None and chat.status == "queued":
            self._start_ghost_timer(session_id)

    def _start_ghost_timer(self, session_id: str) -> None:
        if session_id not in self.ghost_timers:
            self.ghost_timers[session_id] = asyncio.create_task(self._drop_when_gone(session_id))

    async def _drop_when_gone(self, session_id: str) -> None:
        """After the grace period a queued visitor with no open connection leaves the queue:
        what they wrote while waiting becomes a ticket (they find the answer by its number, or
        in this conversation when they come back); the others' positions are recomputed."""
        await asyncio.sleep(self.settings.visitor_gone_grace_s)
        self.ghost_timers.pop(session_id, None)
        if self.store is None or self._visitor_online(session_id):
            return
        db = self._db()
        chat = db.active_chat(session_id)
        if chat is None or chat.status != "queued":
            return
        written = _texts_while_queued(self.hub.events(session_id))[-5:]
        if written:  # what they wrote while waiting is not lost: it becomes a ticket
            await self._create_ticket(chat, "\n".join(written), gone=True)
            return
        lang, script = self._visitor_lang(chat)
        with db.database.transaction():
            if not db.end(chat.id, status="bot", outcome="visitor_gone", now=time.time()):
                return
            db.audit("system", "visitor_gone", session_id, chat=chat.id)
            await self.hub.reply(session_id, texts.say(texts.LEFT_QUEUE, lang, script),
                                 sender="system", lang=lang, kind="handoff")
            await self.hub.set_state(session_id, "bot")
        self.announced.pop(chat.id, None)
        await self._release(chat, "visitor_gone")
        await self._refresh()

    async def on_visitor_event(self, session_id: str, event: dict) -> None:
        db = self._db()
        chat = db.active_chat(session_id)
        if event.get("type") != "visitor":
            return
        if chat is None:
            # The conversation says queued/agent but no handoff holds it: give it back to the
            # bot rather than leave the visitor talking to nobody.
            db.audit("system", "orphan_state", session_id)
            await self.hub.set_state(session_id, "bot")
            return
        text = str(event.get("text", ""))
        if chat.status == "queued" and chat.leaving_message:
            await self._create_ticket(chat, text)
            return
        if chat.status == "queued" and texts.is_leave_message(text):
            db.set_leaving_message(chat.id, True)
            lang, script = self._visitor_lang(chat)
            await self.hub.reply(session_id, texts.say(texts.LEAVE_MESSAGE_PROMPT, lang, script),
                                 sender="system", lang=lang, kind="handoff")
            return
        await self._to_watchers(chat, af.Event(chat=chat.id, event=event))
        self.last_texts[chat.id] = text
        self._changed(chat.id)
        if chat.status == "queued" and not self._eligible_online(chat):
            # Nobody can read it yet: say so and offer "Leave a message" again.
            lang, script = self._visitor_lang(chat)
            label = texts.say(texts.LEAVE_MESSAGE_BUTTON, lang, script)
            await self.hub.reply(session_id, texts.say(texts.NO_AGENTS_STILL, lang, script,
                                                       hotline=self.table.hotline),
                                 sender="system", lang=lang, kind="handoff",
                                 quick_replies=[{"label": label, "value": label}])
        if chat.status == "queued":
            await self._broadcast()

    async def on_visitor_typing(self, session_id: str, on: bool) -> None:
        chat = self._db().active_chat(session_id)
        if chat is not None and chat.status == "agent":
            await self._to_watchers(chat, af.Typing(chat=chat.id, on=bool(on)))

    async def on_rating(self, session_id: str, score: int, comment: str | None) -> None:
        """The visitor's rating: of the agent whose chat ended last (with an audit row), or of
        the bot; one row of the ratings table, in one transaction."""
        db = self._db()
        with db.database.transaction():
            chat = db.last_chat(session_id)
            if chat is None or chat.outcome not in ("resolved", "visitor_closed"):
                db.add_rating(session_id, None, int(score), comment)
                return
            db.add_rating(session_id, chat, int(score), comment)
            db.audit("visitor", "rating", session_id, chat=chat.id, score=score)

    async def on_close(self, session_id: str) -> None:
        db = self._db()
        chat = db.active_chat(session_id)
        if chat is None:
            return
        with db.database.transaction():
            db.end(chat.id, status="closed", outcome="visitor_closed", now=time.time())
            db.audit("visitor", "close", session_id, chat=chat.id)
        await self._release(chat, "visitor_closed")
        await self._refresh()

    # ------------------------------------------------------------------ visitor messages
    def _visitor_lang(self, chat: Chat) -> tuple[str, str | None]:
        info = self.hub.session(chat.session_id)
        lang = getattr(info, "lang", None) or chat.lang
        script = getattr(info, "script", None)
        return ("en" if lang == "en" else "zh"), script

    async def _tell_queued(self, chat: Chat) -> None:
        lang, script = self._visitor_lang(chat)
        queue = self.table.queue(chat.queue_id).name(lang)
        pos, eta = self._position_of(chat.id)
        online = self._eligible_online(chat)
        if online:
            text = texts.say(texts.QUEUED, lang, script, queue=queue,
                             ahead=texts.ahead_phrase(pos - 1, lang), wait=texts.wait_phrase(eta, lang))
            quick: list[dict[str, str]] = []
        else:
            text = texts.say(texts.NO_AGENTS, lang, script, queue=queue, hotline=self.table.hotline)
            label = texts.say(texts.LEAVE_MESSAGE_BUTTON, lang, script)
            quick = [{"label": label, "value": label}]
        await self.hub.reply(chat.session_id, text, sender="system", lang=lang, kind="handoff",
                             quick_replies=quick)
        await self.hub.set_state(chat.session_id, "queued", queue=chat.queue_id, position=pos,
                                 eta_s=eta)
        self.announced[chat.id] = (pos, eta)

    async def _create_ticket(self, chat: Chat, text: str, *, gone: bool = False) -> None:
        db = self._db()
        lang, script = self._visitor_lang(chat)
        said = texts.LEFT_QUEUE_TICKET if gone else texts.TICKET_CREATED
        # One transaction: the chat out of the queue, the ticket, the audit row, the visitor's
        # notice with the ticket's number and the conversation back with the bot.
        with db.database.transaction():
            if not db.end(chat.id, status="bot", outcome="ticket", now=time.time()):
                return
            ticket_id = db.add_ticket(chat.session_id, chat.id, chat.queue_id, chat.lang, text)
            ticket = db.ticket(ticket_id)
            assert ticket is not None  # added just above
            ref = ticket["ref"]
            db.audit("system" if gone else "visitor", "ticket", chat.session_id, chat=chat.id,
                     ticket=ticket_id, ref=ref, visitor_gone=gone)
            await self.hub.reply(chat.session_id, texts.say(said, lang, script, ticket=ref),
                                 sender="system", lang=lang, kind="handoff", meta={"ticket": ref})
            await self.hub.set_state(chat.session_id, "bot")
        if gone:
            await self._release(chat, "visitor_gone")
        self.announced.pop(chat.id, None)
        await self._refresh(tickets_changed=True)

    async def on_ticket_query(self, session_id: str, text: str, client: str = "") -> bool:
        """A visitor quoting a ticket number (in any chat, on any device) gets its answer, or is
        told it is not answered yet; True when the message was such a query. Numbers that do not
        exist are counted per client address: after TICKET_MISSES_PER_HOUR of them in an hour
        the client is told to call the hotline, so numbers cannot be found by trying."""
        ref = find_ticket_ref(text)
        if ref is None or self.store is None:
            return False
        info = self.hub.session(session_id)
        lang = "en" if getattr(info, "lang", None) == "en" else "zh"
        script = getattr(info, "script", None)
        now = time.time()
        misses = [t for t in self.ticket_misses.get(client, []) if now - t < 3600]
        self.ticket_misses[client] = misses
        if len(misses) >= TICKET_MISSES_PER_HOUR:
            self._db().audit("visitor", "ticket_query_blocked", session_id, ref=ref)
            await self.hub.reply(session_id, texts.say(texts.TICKET_TOO_MANY, lang, script,
                                                       hotline=self.table.hotline),
                                 sender="system", lang=lang, kind="notice")
            return True
        ticket = self._db().ticket_by_ref(ref)
        self._db().audit("visitor", "ticket_query", session_id, ref=ref, found=ticket is not None)
        if ticket is None:
            misses.append(now)
            said = texts.say(texts.TICKET_UNKNOWN, lang, script, ticket=ref, hotline=self.table.hotline)
        elif ticket.get("purged_at") is not None:
            said = texts.say(texts.TICKET_PURGED, lang, script, ticket=ref, hotline=self.table.hotline,
                             date=day(ticket["purged_at"]))
        elif ticket["status"] == "closed" and ticket.get("reply"):
            said = texts.say(texts.TICKET_ANSWER, lang, script, ticket=ref,
                             reply="{reply}").replace("{reply}", ticket["reply"])
        else:
            said = texts.say(texts.TICKET_PENDING, lang, script, ticket=ref)
        await self.hub.reply(session_id, said, sender="system", lang=lang, kind="notice",
                             meta={"ticket": ref})
        return True

    # ------------------------------------------------------------------ queue state
    def _agent_states(self) -> list[AgentState]:
        loads: dict[str, int] = {}
        for _, owner, _ in self._db().owned_rows():
            if owner:
                loads[owner] = loads.get(owner, 0) + 1
        return [
            AgentState(username=a.username, role=a.role, queues=tuple(a.queues),
                       langs=tuple(a.langs), max_chats=a.max_chats, load=loads.get(a.username, 0),
                       online=self._online(a.username),
                       accepting=self.accepting.get(a.username, False),
                       last_assigned=self.last_assigned.get(a.username, 0.0))
            for a in self._db().agents() if not a.disabled
        ]

    def _online(self, username: str) -> bool:
        """Connected with a token that is still valid (an idle console may outlive its token)."""
        now = time.time()
        return any(c.token_hash and self._db().token_user(c.token_hash, now) == username
                   for c in self.conns.get(username, ()))

    def _waiting(self) -> list[Waiting]:
        # The script plays no part in positions or assignment.
        return [Waiting(cid, queue, lang, None, since)
                for cid, queue, lang, since in self._db().waiting_rows()]

    def _queue_positions(self) -> list[tuple[int, int, int | None]]:
        waiting = self._waiting()
        agents = self._agent_states()
        pos = positions(waiting)
        out = []
        # Free slots, capacity and handle time depend only on the queue and the language skill:
        # computed once per such group, not once per waiting chat.
        groups: dict[tuple[str, str], tuple[int, int, float]] = {}
        for w in waiting:
            p = pos[w.chat_id]
            group = (w.queue_id, required_skill(w.lang))
            if group not in groups:
                free = sum(a.max_chats - a.load for a in agents
                           if a.online and a.accepting and eligible(a, w) and a.has_room)
                avg = average_handle_s(self._db().handle_times(w.queue_id), self.table.avg_handle_s)
                groups[group] = (free, capacity(agents, w), avg)
            free, cap, avg = groups[group]
            eta = None if cap == 0 else (30 if p <= free else eta_s(p - free, cap, avg))
            out.append((w.chat_id, p, eta))
        return out

    def _position_of(self, chat_id: int) -> tuple[int, int | None]:
        for cid, pos, eta in self._queue_positions():
            if cid == chat_id:
                return pos, eta
        return 1, None

    def _eligible_online(self, chat: Chat) -> bool:
        w = Waiting(chat.id, chat.queue_id, chat.lang, None, chat.waiting_since)
        return any(a.online and eligible(a, w) for a in self._agent_states())

    async def _refresh(self, *, tickets_changed: bool = False) -> None:
        """Auto-assign, tell queued visitors their new position, push snapshots to agents."""
        async with self._lock:
            for chat_id, username in plan_assignments(self._waiting(), self._agent_states()):
                await self._assign(chat_id, username, "system", "auto_assign", agent=username)
            is_online = getattr(self.hub, "is_online", None)
            for chat in self._db().active_chats():
                # A visitor already gone when their chat (re)enters a queue (an agent's chats
                # requeued, a transfer) gets the same grace as one who leaves while waiting.
                if (chat.status == "queued" and is_online is not None
                        and not is_online(chat.session_id)):
                    self._start_ghost_timer(chat.session_id)
            for chat_id, pos, eta in self._queue_positions():
                if self.announced.get(chat_id) != (pos, eta):
                    chat = self._stored_chat(chat_id)
                    await self.hub.set_state(chat.session_id, "queued", queue=chat.queue_id,
                                             position=pos, eta_s=eta)
                    self.announced[chat_id] = (pos, eta)
            await self._broadcast(tickets_changed=tickets_changed)

    async def _assign(self, chat_id: int, username: str, actor: str, action: str,
                      **detail: Any) -> bool:
        """Give a waiting chat to ``username`` if nobody took it first: the owner, the audit row,
        the visitor's notice and the conversation's state in one transaction; then open the chat
        in the agent's console. False when another claim won."""
        db = self._db()
        with db.database.transaction():
            if not db.claim(chat_id, username, time.time()):
                return False
            chat = self._stored_chat(chat_id)
            db.audit(actor, action, chat.session_id, chat=chat_id, **detail)
            agent = self._stored_agent(username)
            lang, script = self._visitor_lang(chat)
            await self.hub.reply(chat.session_id, texts.say(texts.AGENT_JOINED, lang, script,
                                                            agent=agent.name),
                                 sender="system", lang=lang, kind="handoff")
            await self.hub.set_state(chat.session_id, "agent", agent=agent.name)
        self.last_assigned[username] = time.time()
        self.announced.pop(chat_id, None)
        frame = self._chat_frame(chat)
        for conn in self.conns.get(username, ()):
            await conn.send(frame)
        return True

    def _start_offline_timer(self, username: str) -> None:
        if username not in self.offline_timers:
            self.offline_timers[username] = asyncio.create_task(self._requeue_when_gone(username))

    async def _requeue_when_gone(self, username: str) -> None:
        """After the grace period, an agent still offline gives their chats back to the queue,
        where they keep their original place (the front: they waited longest)."""
        await asyncio.sleep(self.settings.agent_reconnect_grace_s)
        self.offline_timers.pop(username, None)
        if self.conns.get(username) or self.store is None:
            return
        db = self._db()
        for chat in db.active_chats():
            if chat.status != "agent" or chat.owner != username:
                continue
            lang, script = self._visitor_lang(chat)
            async with self._lock:
                with db.database.transaction():
                    if not db.move_to_queue(chat.id, username, chat.queue_id, time.time()):
                        continue
                    db.audit("system", "requeue_agent_offline", chat.session_id, chat=chat.id,
                             agent=username)
                    await self.hub.reply(chat.session_id, texts.say(texts.AGENT_DISCONNECTED, lang,
                                                                    script),
                                         sender="system", lang=lang, kind="handoff")
                    pos, eta = self._position_of(chat.id)
                    await self.hub.set_state(chat.session_id, "queued", queue=chat.queue_id,
                                             position=pos, eta_s=eta)
                await self._release(chat, "agent_offline")
                self.announced[chat.id] = (pos, eta)
        await self._refresh()

    async def _release(self, chat: Chat, reason: str) -> None:
        """Tell everyone who had the chat open that it is no longer theirs."""
        await self._to_watchers(chat, af.Released(chat=chat.id, reason=reason))
        for conns in self.conns.values():
            for conn in conns:
                conn.viewing.discard(chat.id)
        self.announced.pop(chat.id, None)

    def _still_valid(self, conn: AgentConn, now: float) -> bool:
        """A console whose token was revoked or whose agent was disabled gets nothing more: it is
        closed (4401) the moment a push would have reached it."""
        if conn.token_hash and self._db().token_user(conn.token_hash, now) == conn.username:
            return True
        if conn.username and conn in self.conns.get(conn.username, ()):
            self.conns[conn.username].discard(conn)
            if not self.conns[conn.username]:
                del self.conns[conn.username]
                self.accepting.pop(conn.username, None)
                self._start_offline_timer(conn.username)
        asyncio.ensure_future(conn.ws.close(UNAUTHORIZED_CLOSE, "unauthorized"))
        return False

    async def _to_watchers(self, chat: Chat, frame: Frame) -> None:
        sent: set[int] = set()
        now = time.time()
        for username, conns in list(self.conns.items()):
            for conn in list(conns):
                if not self._still_valid(conn, now):
                    continue
                if (username == chat.owner and chat.status == "agent") or chat.id in conn.viewing:
                    if id(conn) not in sent:
                        sent.add(id(conn))
                        await conn.send(frame)

    # ------------------------------------------------------------------ frames to agents
    def _chat_info(self, chat: Chat) -> dict[str, Any]:
        db = self._db()
        info = self.hub.session(chat.session_id)
        region = next((r for r in self.table.regions if r.id == chat.region), None)
        owner = db.agent(chat.owner) if chat.owner else None
        queue = self.table.queues.get(chat.queue_id)
        return {
            "id": chat.id, "status": chat.status, "queue": chat.queue_id,
            "queue_zh": queue.zh if queue else chat.queue_id,
            "queue_en": queue.en if queue else chat.queue_id,
            "lang": chat.lang, "visitor_lang": getattr(info, "lang", None) or chat.lang,
            "script": getattr(info, "script", None), "channel": getattr(info, "channel", None),
            "online": bool(getattr(self.hub, "is_online", lambda s: False)(chat.session_id)),
            "business_option": chat.business_option, "region": chat.region,
            "region_zh": region.zh if region else None, "region_en": region.en if region else None,
            "city": chat.city, "overseas": chat.overseas, "summary": chat.summary,
            "reason": chat.reason, "rule": chat.rule, "owner": chat.owner,
            "owner_name": owner.name if owner else None, "waiting_since": chat.waiting_since,
            "claimed_at": chat.claimed_at, "leaving_message": chat.leaving_message,
            "purged_at": chat.purged_at,
        }

    def _chat_frame(self, chat: Chat) -> af.OpenChat:
        db = self._db()
        # The visitor's earlier handoffs in this conversation (same resume token, followed across
        # a phone transfer) and the messages they left.
        history = [{"id": c.id, "status": c.status, "outcome": c.outcome, "queue": c.queue_id,
                    "owner": c.owner, "summary": c.summary, "waiting_since": c.waiting_since,
                    "ended_at": c.ended_at, "purged_at": c.purged_at}
                   for c in db.chats_of_session(chat.session_id) if c.id != chat.id]
        tickets = [{"id": t["id"], "ref": t["ref"], "status": t["status"], "text": t["text"],
                    "reply": t["reply"], "created_at": t["created_at"], "purged_at": t["purged_at"]}
                   for t in db.tickets(None) if t["session_id"] == chat.session_id]
        transcript = self.hub.events(chat.session_id)
        if chat.purged_at is not None:
            # What was said was removed under the retention policy; what is left of the events
            # (types and times) tells an agent nothing, so none is sent.
            transcript = []
        elif chat.status not in ("queued", "agent") and chat.ended_at is not None:
            # A past chat (search, history) shows what was said until it ended, never what the
            # visitor wrote afterwards.
            end = datetime.fromtimestamp(chat.ended_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            transcript = [e for e in transcript if str(e.get("ts", "")) <= end]
        return af.OpenChat(chat=self._chat_info(chat), notes=db.notes(chat.session_id),
                           history=history, tickets=tickets, transcript=transcript)

    def _changed(self, chat_id: int) -> None:
        self.dirty.add(chat_id)
        self.items.pop(chat_id, None)

    def _item(self, chat: Chat) -> dict[str, Any]:
        """A chat as the agents' queue lists show it (cached until the chat changes)."""
        item = self.items.get(chat.id)
        if item is None:
            item = self._chat_info(chat)
            if chat.id not in self.last_texts:  # read the history once per chat, not per push
                self.last_texts[chat.id] = _last_visitor_text(self.hub.events(chat.session_id))
            item["last_text"] = self.last_texts[chat.id]
            self.items[chat.id] = item
        return item

    def _for_agent(self, agent: Agent, chat: Chat, now: float) -> dict[str, Any] | None:
        """The chat's item in this agent's lists, or None when they do not see it."""
        if chat.status == "queued" and (agent.role == "supervisor" or "*" in agent.queues
                                        or chat.queue_id in agent.queues):
            return {**self._item(chat), "wait_s": int(now - chat.waiting_since),
                    "eligible": required_skill(chat.lang) in agent.langs}
        if chat.status == "agent" and chat.owner == agent.username:
            return self._item(chat)
        return None

    def _online_agents(self) -> list[dict[str, Any]]:
        return [{"username": a.username, "name": a.name, "langs": a.langs}
                for a in self._db().agents() if self.conns.get(a.username) and not a.disabled]

    def _snapshot(self, agent: Agent, chats: list[Chat] | None = None) -> af.Queues:
        """Everything the agent sees: sent once per connection (then `queues_delta`)."""
        now = time.time()
        chats = self._db().active_chats() if chats is None else chats
        pos = positions([Waiting(c.id, c.queue_id, c.lang, None, c.waiting_since)
                         for c in chats if c.status == "queued"])
        waiting: dict[str, list[dict[str, Any]]] = {}
        mine = []
        for c in chats:
            item = self._for_agent(agent, c, now)
            if item is None:
                continue
            if c.status == "queued":
                waiting.setdefault(c.queue_id, []).append({**item, "position": pos.get(c.id)})
            else:
                mine.append(item)
        queues = [{"id": q.id, "zh": q.zh, "en": q.en, "kind": q.kind,
                   "waiting": waiting.get(q.id, [])}
                  for q in self.table.queues.values()
                  if agent.role == "supervisor" or "*" in agent.queues or q.id in agent.queues]
        return af.Queues(now=now, queues=queues, mine=mine,
                         accepting=self.accepting.get(agent.username, False),
                         online_agents=self._online_agents())

    def _delta(self, agent: Agent, changed: dict[int, Chat | None],
               online: list[dict[str, Any]]) -> af.QueuesDelta:
        """What changed for this agent since the last push: chats to add or replace in their
        lists (``upsert``; a chat's place follows from ``status``, ``queue`` and
        ``waiting_since``), chats to drop (``remove``), and the small per-agent fields."""
        now = time.time()
        upsert, remove = [], []
        for chat_id, chat in changed.items():
            item = self._for_agent(agent, chat, now) if chat is not None else None
            if item is None:
                remove.append(chat_id)
            else:
                upsert.append(item)
        return af.QueuesDelta(now=now, upsert=upsert, remove=remove,
                              accepting=self.accepting.get(agent.username, False), online_agents=online)

    def _overview(self) -> af.Overview:
        now = time.time()
        db = self._db()
        owned = db.owned_rows()
        stats = db.queue_stats()
        states = {a.username: a for a in self._agent_states()}
        chats_of: dict[str, list[int]] = {}
        active: dict[str, int] = {}
        for cid, owner, queue in owned:
            chats_of.setdefault(owner, []).append(cid)
            active[queue] = active.get(queue, 0) + 1
        agents = []
        for a in db.agents():
            st = states.get(a.username)
            agents.append({**a.public(), "online": bool(st and st.online),
                           "accepting": bool(st and st.accepting), "load": st.load if st else 0,
                           "chats": chats_of.get(a.username, [])})
        queues = []
        for q in self.table.queues.values():
            n, oldest = stats.get(q.id, (0, now))
            queues.append({
                "id": q.id, "zh": q.zh, "en": q.en, "waiting": n,
                "oldest_wait_s": int(now - oldest) if n else 0,
                "active": active.get(q.id, 0),
                "agents_online": sum(1 for s in states.values() if s.online and serves(s, q.id)),
            })
        return af.Overview(now=now, queues=queues, agents=agents)

    def _tickets_frame(self, agent: Agent) -> af.Tickets:
        scope = None if agent.role == "supervisor" else agent.queues
        return af.Tickets(tickets=self._db().tickets("open", scope))

    async def _broadcast(self, *, tickets_changed: bool = False) -> None:
        """Push what changed to every console: a connection's first push is the full snapshot,
        every later one a `queues_delta` with only the chats changed since the last push (its
        cost grows with the changes, not with the queue)."""
        db = self._db()
        changed_ids, self.dirty = self.dirty, set()
        changed = {cid: db.chat(cid) for cid in sorted(changed_ids)}
        changed = {cid: (c if c is not None and c.status in ("queued", "agent") else None)
                   for cid, c in changed.items()}
        for cid, chat in changed.items():
            if chat is None:  # over: forget what was cached for it
                self.items.pop(cid, None)
                self.last_texts.pop(cid, None)
        online = self._online_agents()
        overview = None
        for username, conns in list(self.conns.items()):
            agent = db.agent(username)
            if agent is None or not conns:
                continue
            delta = self._delta(agent, changed, online)
            extra: list[Frame] = []
            if agent.role == "supervisor":
                overview = overview or self._overview()
                extra.append(overview)
            if tickets_changed:
                extra.append(self._tickets_frame(agent))
            now = time.time()
            for conn in list(conns):
                if not self._still_valid(conn, now):
                    continue
                if conn.synced:
                    await conn.send(delta)
                else:
                    conn.synced = True
                    await conn.send(self._snapshot(agent))
                for frame in extra:
                    await conn.send(frame)

    # ------------------------------------------------------------------ agent websocket
    async def handle_agent_connection(self, ws: Any, ip: str | None = None) -> None:
        conn = AgentConn(ws, ip)
        loop = asyncio.get_running_loop()
        # Agents type and click faster than visitors: twice the visitor's per-connection limits.
        bucket = TokenBucket(self.settings.conn_rate * 2, self.settings.conn_burst * 2)
        bucket.updated = loop.time()

        def login_timeout() -> None:  # a socket that never logs in does not hold a slot forever
            if conn.username is None:
                asyncio.ensure_future(ws.close(1008, "login timeout"))

        deadline = loop.call_later(self.settings.agent_login_timeout_s,
                                   login_timeout)
        try:
            async for raw in ws:
                try:
                    wait = bucket.take(loop.time())
                    if wait > 0:
                        await conn.send(Error(code="rate_limited",
                                              message="Too many frames; please slow down.",
                                              retry_after=round(wait, 2)))
                        continue
                    frame = parse(raw, self.settings.max_text_chars)
                    await self._dispatch(conn, frame)
                except AgentProtocolError as exc:
                    await conn.send(exc.frame())
                except AuthError as exc:
                    await conn.send(_auth_error(exc))
                    if exc.code == "unauthorized" and conn.username:
                        await ws.close(UNAUTHORIZED_CLOSE, "unauthorized")
                        return
                except ConnectionClosed:
                    raise
                except Exception:  # a bug must not cost the agent their connection
                    log.exception("agent frame failed", extra={"agent": conn.username})
                    await conn.send(Error(code="internal",
                                          message="The server could not do that; please try again."))
        except ConnectionClosed:
            pass
        finally:
            deadline.cancel()
            if conn.username and conn in self.conns.get(conn.username, set()):
                self.conns[conn.username].discard(conn)
                if not self.conns[conn.username]:
                    del self.conns[conn.username]
                    self.accepting.pop(conn.username, None)
                    self._start_offline_timer(conn.username)
                if self.store is not None:
                    self._db().audit(conn.username, "disconnect")
                    await self._refresh()

    async def _dispatch(self, conn: AgentConn, frame: ap.AgentFrame) -> None:
        if isinstance(frame, ap.Ping):
            await conn.send(Pong())
            return
        if isinstance(frame, ap.Login | ap.Auth):
            await self._authenticate(conn, frame)
            return
        if conn.token_hash is None:
            raise AgentProtocolError("auth_required", "Log in first.")
        agent = self._authenticator().check(conn.token_hash)  # every action: token still valid, agent enabled
        await getattr(self, f"_do_{frame.type}")(conn, agent, frame)

    async def _authenticate(self, conn: AgentConn, frame: ap.Login | ap.Auth) -> None:
        token: str | None = None
        expires_at: float | None = None
        if isinstance(frame, ap.Login):
            login = await self._authenticator().login(frame.username, frame.password, conn.ip)
            agent, th = login.agent, login.token_hash
            token, expires_at = login.token, login.expires_at
        else:
            agent, th = self._authenticator().resume(frame.token)
        if conn.username and conn.username != agent.username:
            self.conns.get(conn.username, set()).discard(conn)
        conn.username, conn.token_hash = agent.username, th
        self.conns.setdefault(agent.username, set()).add(conn)
        timer = self.offline_timers.pop(agent.username, None)
        if timer is not None:
            timer.cancel()  # back in time: the agent keeps their chats
        all_queues = [{"id": q.id, "zh": q.zh, "en": q.en, "kind": q.kind}
                      for q in self.table.queues.values()]
        await conn.send(af.AuthOk(token=token, expires_at=expires_at, agent=agent.public(),
                                  all_queues=all_queues, hotline=self.table.hotline))
        await conn.send(af.Canned(replies=self.canned))
        await conn.send(self._tickets_frame(agent))
        for chat in self._db().active_chats():
            if chat.status == "agent" and chat.owner == agent.username:
                await conn.send(self._chat_frame(chat))
        await self._refresh()

    async def _do_logout(self, conn: AgentConn, agent: Agent, frame: ap.Logout) -> None:
        if conn.token_hash is not None:  # always set: _dispatch admits only logged-in sockets
            self._authenticator().logout(conn.token_hash, agent.username)
        await conn.send(af.LoggedOut())
        await conn.ws.close(1000, "logged out")

    async def _do_accepting(self, conn: AgentConn, agent: Agent, frame: ap.Accepting) -> None:
        self.accepting[agent.username] = frame.on
        self._db().audit(agent.username, "accepting", on=frame.on)
        await self._refresh()

    def _chat_or_error(self, chat_id: int) -> Chat:
        chat = self._db().chat(chat_id)
        if chat is None:
            raise AgentProtocolError("unknown_chat", "No such chat.", "chat")
        return chat

    def _owned(self, agent: Agent, chat_id: int) -> Chat:
        """The chat, if this agent owns it (supervisors may act on any active chat)."""
        chat = self._chat_or_error(chat_id)
        if chat.status != "agent":
            raise AgentProtocolError("not_active", "This chat is not with an agent.", "chat")
        if chat.owner != agent.username and agent.role != "supervisor":
            raise AgentProtocolError("not_owner", "This chat belongs to another agent.", "chat")
        return chat

    async def _do_claim(self, conn: AgentConn, agent: Agent, frame: ap.Claim) -> None:
        db = self._db()
        chat = self._chat_or_error(frame.chat)
        if agent.role != "supervisor":
            if not ("*" in agent.queues or chat.queue_id in agent.queues):
                raise AgentProtocolError("forbidden", "This chat is not in your queues.", "chat")
            if required_skill(chat.lang) not in agent.langs:
                raise AgentProtocolError("wrong_language", "This chat needs another language skill.", "chat")
            load = sum(1 for c in db.active_chats() if c.owner == agent.username and c.status == "agent")
            if load >= agent.max_chats:
                raise AgentProtocolError("at_capacity", "You already have your maximum number of chats.")
        async with self._lock:
            claimed = await self._assign(chat.id, agent.username, agent.username, "claim",
                                         queue=chat.queue_id)
        if not claimed:
            db.audit(agent.username, "claim_lost", chat.session_id, chat=chat.id)
            raise AgentProtocolError("already_claimed", "Another agent has taken this chat.", "chat")
        await self._refresh()

    async def _do_view(self, conn: AgentConn, agent: Agent, frame: ap.View) -> None:
        chat = self._chat_or_error(frame.chat)
        # Agents read waiting and past chats of their queues (search, history) and their own.
        if agent.role != "supervisor" and chat.owner != agent.username and not (
                chat.status != "agent" and ("*" in agent.queues or chat.queue_id in agent.queues)):
            raise AgentProtocolError("forbidden", "You cannot open this chat.", "chat")
        self._db().audit(agent.username, "view", chat.session_id, chat=chat.id)
        if chat.status in ("queued", "agent"):
            conn.viewing.add(chat.id)
        await conn.send(self._chat_frame(chat))

    async def _do_send(self, conn: AgentConn, agent: Agent, frame: ap.Send) -> None:
        chat = self._owned(agent, frame.chat)
        event = await self.hub.reply(chat.session_id, frame.text, sender="agent",
                                     agent=agent.name, kind="agent")
        self._db().audit(agent.username, "send", chat.session_id, chat=chat.id,
                         seq=event.get("seq"), chars=len(frame.text))
        await conn.send(af.Sent(chat=chat.id, id=frame.id, seq=event.get("seq")))
        await self._to_watchers(chat, af.Event(chat=chat.id, event=event))

    async def _do_typing(self, conn: AgentConn, agent: Agent, frame: ap.Typing) -> None:
        chat = self._owned(agent, frame.chat)
        await self.hub.typing(chat.session_id, "agent", frame.on)

    async def _do_assist(self, conn: AgentConn, agent: Agent, frame: ap.Assist) -> None:
        chat = self._chat_or_error(frame.chat)
        if agent.role != "supervisor" and chat.owner != agent.username:
            raise AgentProtocolError("not_owner", "Claim the chat first.", "chat")
        if self.retriever is None:
            raise AgentProtocolError("assist_unavailable", "The knowledge base is not loaded.")
        query = (frame.query or _last_question(self.hub.events(chat.session_id))
                 or chat.summary)
        if not query:
            raise AgentProtocolError("empty", "The visitor has not asked anything yet.", "query")
        lang, script = self._visitor_lang(chat)
        answer_script = "en" if lang == "en" else (script if script in ("zh-Hans", "zh-Hant", "yue") else "zh-Hans")
        answers = await asyncio.to_thread(_assist, self.retriever, query, lang, answer_script)
        self._db().audit(agent.username, "assist", chat.session_id, chat=chat.id, hits=len(answers))
        await conn.send(af.Assist(chat=chat.id, query=query, lang=lang, script=answer_script,
                                  answers=answers))

    async def _do_transfer(self, conn: AgentConn, agent: Agent, frame: ap.Transfer) -> None:
        db = self._db()
        chat = self._owned(agent, frame.chat)
        note = frame.note or ""
        lang, script = self._visitor_lang(chat)
        now = time.time()
        if frame.queue is not None:
            target = frame.queue
            if target not in self.table.queues:
                raise AgentProtocolError("unknown_queue", "No such queue.", "queue")
            async with self._lock:
                # One transaction: the chat back in a queue, the note, the audit row, the
                # visitor's notice and new place in the queue.
                with db.database.transaction():
                    if not db.move_to_queue(chat.id, chat.owner, target, now):
                        raise AgentProtocolError("not_active", "The chat changed; reload it.", "chat")
                    db.add_note(chat.id, agent.username, "transfer", f"→ {target}: {note}".strip())
                    db.audit(agent.username, "transfer", chat.session_id, chat=chat.id, queue=target,
                             note=note)
                    await self.hub.reply(chat.session_id, texts.say(
                        texts.TRANSFERRED_QUEUE, lang, script, queue=self.table.queue(target).name(lang)),
                        sender="system", lang=lang, kind="handoff")
                    pos, eta = self._position_of(chat.id)
                    await self.hub.set_state(chat.session_id, "queued", queue=target, position=pos,
                                             eta_s=eta)
                await self._release(chat, "transferred")
                self.announced[chat.id] = (pos, eta)
        else:
            assert frame.agent is not None  # parse lets through exactly one of queue and agent
            target_agent = db.agent(frame.agent)
            if target_agent is None or target_agent.disabled:
                raise AgentProtocolError("unknown_agent", "No such agent.", "agent")
            if not self.conns.get(target_agent.username):
                raise AgentProtocolError("agent_offline", "That agent is not online.", "agent")
            if required_skill(chat.lang) not in target_agent.langs:
                raise AgentProtocolError("wrong_language", "That agent lacks the chat's language.", "agent")
            load = sum(1 for c in db.active_chats() if c.owner == target_agent.username and c.status == "agent")
            if load >= target_agent.max_chats:
                raise AgentProtocolError("at_capacity", "That agent has no free chat slot.", "agent")
            # One transaction: the new owner, the note, the audit row, the visitor's notice
            # and state.
            with db.database.transaction():
                if not db.give_to(chat.id, chat.owner, target_agent.username, now):
                    raise AgentProtocolError("not_active", "The chat changed; reload it.", "chat")
                db.add_note(chat.id, agent.username, "transfer",
                            f"→ {target_agent.username}: {note}".strip())
                db.audit(agent.username, "transfer", chat.session_id, chat=chat.id,
                         agent=target_agent.username, note=note)
                await self.hub.reply(chat.session_id, texts.say(texts.TRANSFERRED_AGENT, lang, script,
                                                                agent=target_agent.name),
                                     sender="system", lang=lang, kind="handoff")
                await self.hub.set_state(chat.session_id, "agent", agent=target_agent.name)
            await self._release(chat, "transferred")
            self.last_assigned[target_agent.username] = now
            frame_out = self._chat_frame(self._stored_chat(chat.id))
            for c in self.conns.get(target_agent.username, ()):
                await c.send(frame_out)
        await self._refresh()

    async def _do_handback(self, conn: AgentConn, agent: Agent, frame: ap.Handback) -> None:
        await self._finish(agent, frame, status="bot", outcome="handed_back", action="handback")

    async def _do_resolve(self, conn: AgentConn, agent: Agent, frame: ap.Resolve) -> None:
        await self._finish(agent, frame, status="closed", outcome="resolved", action="resolve")

    async def _finish(self, agent: Agent, frame: ap.Handback | ap.Resolve, *, status: str, outcome: str,
                      action: str) -> None:
        db = self._db()
        chat = self._owned(agent, frame.chat)
        lang, script = self._visitor_lang(chat)
        with db.database.transaction():
            if not db.end(chat.id, status=status, outcome=outcome, now=time.time(),
                          owner=chat.owner, check_owner=True):
                raise AgentProtocolError("not_active", "The chat changed; reload it.", "chat")
            if frame.note:
                db.add_note(chat.id, agent.username, action, frame.note)
            db.audit(agent.username, action, chat.session_id, chat=chat.id, note=frame.note)
            if status == "bot":
                await self.hub.reply(chat.session_id, texts.say(texts.HANDED_BACK, lang, script),
                                     sender="system", lang=lang, kind="handoff")
                await self.hub.set_state(chat.session_id, "bot")
            else:
                await self.hub.reply(chat.session_id, texts.say(texts.RESOLVED, lang, script),
                                     sender="system", lang=lang, kind="notice")
                await self.hub.set_state(chat.session_id, "closed", rating=True)
        await self._release(chat, outcome)
        await self._refresh()

    async def _do_canned(self, conn: AgentConn, agent: Agent, frame: ap.Canned) -> None:
        await conn.send(af.Canned(replies=self.canned))

    async def _do_tickets(self, conn: AgentConn, agent: Agent, frame: ap.Tickets) -> None:
        status = frame.status or "open"
        if status not in ("open", "closed", "all"):
            raise AgentProtocolError("bad_field", "status is open, closed or all.", "status")
        scope = None if agent.role == "supervisor" else agent.queues
        await conn.send(af.Tickets(status=status,
                                   tickets=self._db().tickets(None if status == "all" else status, scope)))

    async def _do_ticket_reply(self, conn: AgentConn, agent: Agent, frame: ap.TicketReply) -> None:
        db = self._db()
        ticket = db.ticket(frame.ticket)
        if ticket is None or (agent.role != "supervisor" and "*" not in agent.queues
                              and ticket["queue_id"] not in agent.queues):
            raise AgentProtocolError("unknown_ticket", "No such ticket.", "ticket")
        if not db.close_ticket(ticket["id"], agent.username, frame.text):
            raise AgentProtocolError("ticket_closed", "This ticket is already answered.", "ticket")
        db.audit(agent.username, "ticket_reply", ticket["session_id"], ticket=ticket["id"])
        lang = "en" if ticket["lang"] == "en" else "zh"
        info = self.hub.session(ticket["session_id"])
        text = texts.say(texts.TICKET_REPLY, lang, getattr(info, "script", None),
                         ticket=ticket["ref"] or ticket["id"], reply="{reply}").replace("{reply}", frame.text)
        await self.hub.reply(ticket["session_id"], text, sender="agent", agent=agent.name, kind="agent")
        await conn.send(af.TicketDone(ticket=ticket["id"]))
        await self._broadcast(tickets_changed=True)

    async def _do_note(self, conn: AgentConn, agent: Agent, frame: ap.Note) -> None:
        """A private note on a chat: agents see it with the chat, the visitor never does."""
        chat = self._chat_or_error(frame.chat)
        if agent.role != "supervisor" and chat.owner != agent.username and not (
                "*" in agent.queues or chat.queue_id in agent.queues):
            raise AgentProtocolError("forbidden", "You cannot add notes to this chat.", "chat")
        if chat.purged_at is not None:  # a note would be personal data the purge never sees again
            raise AgentProtocolError("purged", "This chat's content was removed under the "
                                     "retention policy.", "chat")
        db = self._db()
        db.add_note(chat.id, agent.username, "note", frame.text)
        db.audit(agent.username, "note", chat.session_id, chat=chat.id, chars=len(frame.text))
        notes = af.Notes(chat=chat.id, notes=db.notes(chat.session_id))
        await conn.send(notes)
        await self._to_watchers(chat, notes)

    async def _do_search(self, conn: AgentConn, agent: Agent, frame: ap.Search) -> None:
        query = " ".join(frame.query.split())
        if len(query) < 2:
            raise AgentProtocolError("bad_field", "Search for at least 2 characters.", "query")
        scope = None if agent.role == "supervisor" else agent.queues
        found = self._db().search(query[:100], scope)
        self._db().audit(agent.username, "search", None, chars=len(query))
        await conn.send(af.SearchResults(query=query, chats=found["chats"], tickets=found["tickets"]))

    async def _do_overview(self, conn: AgentConn, agent: Agent, frame: ap.Overview) -> None:
        if agent.role != "supervisor":
            raise AgentProtocolError("forbidden", "Supervisors only.")
        await conn.send(self._overview())


def _auth_error(exc: AuthError) -> Error:
    retry_after = round(exc.retry_after, 1) if exc.retry_after is not None else None
    return Error(code=exc.code, message=exc.message, retry_after=retry_after)


# Visitor turns that carry no question (the bot's NLU reading says so): agent assist skips them.
NOT_QUESTIONS = {"greet", "goodbye", "thanks", "affirm", "deny", "choose_language", "smalltalk",
                 "request_human", "option_port_clearance", "option_entry_exit_documents",
                 "option_comments_suggestions"}


def day(moment: float) -> str:
    """A date as visitors read it (UTC; the day is all they need)."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d")


def _texts_while_queued(events: list[dict]) -> list[str]:
    """What the visitor wrote since the conversation last entered the queue (leave-message
    commands left out)."""
    out: list[str] = []
    queued = False
    for e in events:
        if e.get("type") == "state":
            if e.get("state") != "queued":
                queued, out = False, []
            elif not queued:
                queued, out = True, []
        elif queued and e.get("type") == "visitor" and not texts.is_leave_message(str(e.get("text", ""))):
            out.append(str(e.get("text", "")))
    return out


def _last_visitor_text(events: list[dict]) -> str | None:
    for ev in reversed(events):
        if ev.get("type") == "visitor" and ev.get("text"):
            return str(ev["text"])
    return None


def _last_question(events: list[dict]) -> str | None:
    """The visitor's last message that asks something (messages sent to an agent have no NLU
    reading and count as questions)."""
    for ev in reversed(events):
        intent = (ev.get("meta") or {}).get("intent")
        if ev.get("type") == "visitor" and ev.get("text") and intent not in NOT_QUESTIONS:
            return str(ev["text"])
    return None


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict
        return asdict(value)
    return value


def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def _assist(retriever: Any, query: str, lang: str, script: str) -> list[dict[str, Any]]:
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
