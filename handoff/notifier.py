"""The one place that tells agents and queued visitors what changed.

Every command ends with ``refresh()`` (auto-assignment, new queue positions, then one push to
every console); the store reports each chat it writes through ``changed()``, so a push carries
only the chats changed since the last one. Frames about one chat go to the consoles that have
it open through ``to_watchers()``.

Several processes on one PostgreSQL database: ``changed()`` also announces the chat on the bus
(storage/live.py), and each other process refreshes its own consoles from the store. A chat's
event stored elsewhere (the visitor's message on their node, an agent's reply on theirs) reaches
this process's consoles watching the chat the same way: by its session and seq, read from the
store. These are handled one at a time, in the order announced (``_elsewhere``); a consent
given or withdrawn there (its ``consent`` reply) sends the open chat again, masked as it now
says. What is not stored crosses the same way: a chat given to an agent whose console is on
another node (``opened``: that node opens it there), typing indicators and the ``released``
notice. So do what consoles show outside any one chat: an agent's console come or gone and
whether they take chats (``agent``: the online lists, a supervisor's overview and the agent's
other consoles), a chat's notes and the tickets list.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable

from conversation.events import Announced, Queued, Reply, Stored, Visitor
from handoff import agent_frames as af
from handoff.assignment import assign
from handoff.context import UNAUTHORIZED_CLOSE, AgentConn, HandoffContext
from handoff.positions import agent_states, queue_positions, waiting
from handoff.queueing import plan_assignments
from handoff.store import Chat
from handoff.views import Views
from runtime.frames import Frame
from storage.database import StorageError

log = logging.getLogger(__name__)
# After the live-events listener reconnected: how many of a watched chat's last events are sent
# again (a reconnect takes about 0.5 s; a chat hardly gets more in that time).
CATCH_UP_EVENTS = 20
# Plans of the auto-assignment in one refresh: a plan only misses what another node took
# meanwhile, so a second one nearly always suffices.
ASSIGN_ROUNDS = 3


class Notifier:
    def __init__(self, ctx: HandoffContext, views: Views, *,
                 visitor_gone: Callable[[str], None], agent_gone: Callable[[str], None]) -> None:
        self.ctx = ctx
        self.views = views
        # Grace timers owned elsewhere (the escalation service's, the requeue's): started here
        # when a push finds a queued visitor gone or a console whose token no longer holds.
        self.visitor_gone = visitor_gone
        self.agent_gone = agent_gone
        self.dirty: set[int] = set()  # chats changed since the last broadcast
        self._tasks: set[asyncio.Task] = set()
        self._elsewhere: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
        self._worker: asyncio.Task | None = None
        # Several nodes: the agents last seen on the others (and whether they take chats), so a
        # node that died, announcing nothing, still leaves the online lists (``agents_elsewhere``).
        self._agents_there: dict[str, bool] | None = None

    def changed(self, chat_id: int) -> None:
        self.changed_here(chat_id)
        self.ctx.bus.announce(self.ctx.db().database, "chat", str(chat_id))

    def changed_here(self, chat_id: int) -> None:
        self.dirty.add(chat_id)
        self.views.invalidate(chat_id)

    def push_soon(self) -> None:
        """Agents see a visitor go offline or come back on the chat's card at once."""
        task = asyncio.get_running_loop().create_task(self.broadcast())
        self._tasks.add(task)  # keep a reference until it ran
        task.add_done_callback(self._tasks.discard)

    async def refresh(self, *, tickets_changed: bool = False) -> None:
        """Auto-assign, tell queued visitors their new position, push snapshots to agents."""
        ctx = self.ctx
        async with ctx.lock:
            await self._auto_assign()
            for chat in ctx.db().active_chats():
                # A visitor already gone when their chat (re)enters a queue (an agent's chats
                # requeued, a transfer) gets the same grace as one who leaves while waiting.
                if chat.status == "queued" and not ctx.visitors.is_online(chat.session_id):
                    self.visitor_gone(chat.session_id)
            for chat_id, pos, eta in queue_positions(ctx):
                if ctx.announced.get(chat_id) != (pos, eta):
                    chat = ctx.stored_chat(chat_id)
                    await ctx.conversations().announce(chat.session_id, pos, eta)
                    ctx.announced[chat_id] = (pos, eta)
            await self.broadcast(tickets_changed=tickets_changed)

    async def _auto_assign(self) -> None:
        """Give waiting chats to free agents. With several nodes another one may assign at the
        same time: a chat or an agent's last slot it took first is planned again, from the
        store as it is then."""
        ctx = self.ctx
        for _ in range(ASSIGN_ROUNDS):
            lost = False
            for chat_id, username in plan_assignments(waiting(ctx), agent_states(ctx)):
                chat = await assign(ctx, chat_id, username, "system", "auto_assign",
                                    within_capacity=True, agent=username)
                if chat is None:
                    lost = True
                else:
                    await self.open_chat(username, chat)
            if not lost:
                return

    async def broadcast(self, *, tickets_changed: bool = False) -> None:
        """Push what changed to every console: a connection's first push is the full snapshot,
        every later one a `queues_delta` with only the chats changed since the last push (its
        cost grows with the changes, not with the queue). A changed tickets list is pushed by the
        other nodes too."""
        if tickets_changed:
            self.ctx.bus.announce(self.ctx.db().database, "tickets", "open")  # the open list
        await self._push(tickets_changed=tickets_changed)

    async def _push(self, *, tickets_changed: bool = False) -> None:
        db = self.ctx.db()
        changed_ids, self.dirty = self.dirty, set()
        changed = {cid: db.chat(cid) for cid in sorted(changed_ids)}
        changed = {cid: (c if c is not None and c.status in ("queued", "agent") else None)
                   for cid, c in changed.items()}
        for cid, chat in changed.items():
            if chat is None:  # over: forget what was cached for it
                self.views.forget(cid)
        online = self.views.online_agents()
        overview = None
        for username, conns in list(self.ctx.conns.items()):
            agent = db.agent(username)
            if agent is None or not conns:
                continue
            delta = self.views.delta(agent, changed, online)
            extra: list[Frame] = []
            if agent.role == "supervisor":
                overview = overview or self.views.overview()
                extra.append(overview)
            if tickets_changed:
                extra.append(self.views.tickets_frame(agent))
            now = time.time()
            for conn in list(conns):
                if not self.still_valid(conn, now):
                    continue
                if conn.synced:
                    await conn.send(delta)
                else:
                    conn.synced = True
                    await conn.send(self.views.snapshot(agent))
                for frame in extra:
                    await conn.send(frame)

    async def open_chat(self, username: str, chat: Chat) -> None:
        """A chat now the agent's opens in each of their consoles, on every node."""
        await self._open_here(username, chat)
        self.ctx.bus.announce(self.ctx.db().database, "opened", str(chat.id))

    async def _open_here(self, username: str, chat: Chat) -> None:
        frame = self.views.chat_frame(chat)
        for conn in self.ctx.conns.get(username, ()):
            await conn.send(frame)

    async def notes(self, chat: Chat, frame: af.Notes) -> None:
        """A chat's notes changed: to the consoles watching it, on every node (a supervisor's
        note reaches the agent who has the chat wherever they are connected)."""
        await self.to_watchers(chat, frame)
        self.ctx.bus.announce(self.ctx.db().database, "notes", str(chat.id))

    async def _notes_here(self, chat_id: int) -> None:
        chat = self.ctx.db().chat(chat_id)
        if chat is not None:
            await self.to_watchers(chat, af.Notes(chat=chat.id,
                                                  notes=self.ctx.db().notes(chat.session_id)))

    def agent_changed(self, username: str, accepting: bool | None = None) -> None:
        """An agent's console came or went on this node, or (``accepting``) they started or
        stopped taking chats: the other nodes push their consoles' online lists and overviews,
        and the agent's consoles there take chats as they do here."""
        said: dict[str, str | bool] = {"agent": username}
        if accepting is not None:
            said["accepting"] = accepting
        try:
            self.ctx.bus.announce(self.ctx.db().database, "agent", json.dumps(said))
        except StorageError:  # a console closing while the database is away still closes; the
            # other nodes see the change at their next look at the agents (``agents_elsewhere``)
            log.warning("agent change not announced", exc_info=True)

    async def _agent_changed_here(self, username: str, accepting: bool | None) -> None:
        ctx = self.ctx
        if accepting is not None and username in ctx.conns:
            ctx.accepting[username] = accepting
            if ctx.consoles is not None:
                ctx.consoles.accepting(username, accepting)
        await self._push()

    async def agents_elsewhere(self) -> None:
        """Several nodes: push the online lists when the agents of the other nodes changed
        without a word (their node died; PostgreSQL ended its session: storage/nodes.py)."""
        if self.ctx.consoles is None:
            return
        there = {u: s.accepting for u, s in self.ctx.consoles.elsewhere().items()}
        known, self._agents_there = self._agents_there, there
        if known is not None and known != there:
            await self._push()

    async def release(self, chat: Chat, reason: str) -> None:
        """Tell everyone who had the chat open, on every node, that it is no longer theirs."""
        owner = chat.owner if chat.status == "agent" else None
        await self._release_here(chat.id, owner, reason)
        self.ctx.bus.announce(self.ctx.db().database, "released",
                              json.dumps({"chat": chat.id, "owner": owner, "reason": reason}))

    async def _release_here(self, chat_id: int, owner: str | None, reason: str) -> None:
        """``owner``: who had the chat before (their consoles show it without viewing it)."""
        frame = af.Released(chat=chat_id, reason=reason)
        now = time.time()
        for username, conns in list(self.ctx.conns.items()):
            for conn in list(conns):
                if (username == owner or chat_id in conn.viewing) and self.still_valid(conn, now):
                    await conn.send(frame)
                conn.viewing.discard(chat_id)
        self.ctx.announced.pop(chat_id, None)

    async def typing(self, session_id: str, sender: str, on: bool) -> None:
        """A typing indicator, to the other side wherever it is connected: the visitor's (by an
        agent) or the consoles watching their chat (by the visitor)."""
        await self._typing_here(session_id, sender, on)
        self.ctx.bus.announce(self.ctx.db().database, "typing",
                              json.dumps({"session": session_id, "by": sender, "on": on}))

    async def _typing_here(self, session_id: str, sender: str, on: bool) -> None:
        if sender == "agent":
            await self.ctx.visitors.typing(session_id, "agent", on)
            return
        chat = self.ctx.db().active_chat(session_id)
        if chat is not None and chat.status == "agent":
            await self.to_watchers(chat, af.Typing(chat=chat.id, on=on))

    async def to_watchers(self, chat: Chat, frame: Frame) -> None:
        sent: set[int] = set()
        now = time.time()
        for username, conns in list(self.ctx.conns.items()):
            for conn in list(conns):
                if not self.still_valid(conn, now):
                    continue
                if (username == chat.owner and chat.status == "agent") or chat.id in conn.viewing:
                    if id(conn) not in sent:
                        sent.add(id(conn))
                        await conn.send(frame)

    def still_valid(self, conn: AgentConn, now: float) -> bool:
        """A console whose token was revoked or whose agent was disabled gets nothing more: it is
        closed (4401) the moment a push would have reached it."""
        if conn.token_hash and self.ctx.db().token_user(conn.token_hash, now) == conn.username:
            return True
        self.drop(conn)
        asyncio.ensure_future(conn.ws.close(UNAUTHORIZED_CLOSE, "unauthorized"))
        return False

    def drop(self, conn: AgentConn) -> str | None:
        """Forget a console; the agent's last one gone starts their grace period. The agent's
        username when it was connected."""
        conns, username = self.ctx.conns, conn.username
        if not (username and conn in conns.get(username, ())):
            return None
        conns[username].discard(conn)
        if not conns[username]:
            del conns[username]
            self.ctx.accepting.pop(username, None)
            if self.ctx.consoles is not None:
                self.ctx.consoles.left(username)
                self.agent_changed(username)
            self.agent_gone(username)
        return username

    # What other processes on the same database stored (storage/live.py) ----------------------

    def listen(self) -> None:
        bus = self.ctx.bus
        bus.subscribe("chat", self.chat_elsewhere)
        bus.subscribe("event", self.event_elsewhere)
        bus.subscribe("opened", self.opened_elsewhere)
        bus.subscribe("released", self.released_elsewhere)
        bus.subscribe("typing", self.typing_elsewhere)
        bus.subscribe("notes", self.notes_elsewhere)
        bus.subscribe("agent", self.agent_elsewhere)
        bus.subscribe("tickets", self.tickets_elsewhere)
        bus.on_reconnect(lambda: self._later(self.catch_up))

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None

    def chat_elsewhere(self, ident: str, ours: bool) -> None:
        if not ours:
            chat_id = int(ident)
            self._later(lambda: self._chat_changed(chat_id))

    def event_elsewhere(self, ident: str, ours: bool) -> None:
        """Only an event that consoles are shown is read from the store (most are a bot's
        answers, the visitor's alone)."""
        announced = Announced.read(ident)
        if not ours and announced is not None and announced.for_consoles:
            self._later(lambda: self._event_stored(announced.session_id, announced.seq))

    def opened_elsewhere(self, ident: str, ours: bool) -> None:
        if not ours:
            chat_id = int(ident)
            self._later(lambda: self._opened(chat_id))

    def released_elsewhere(self, ident: str, ours: bool) -> None:
        said = _announced(ident, {"chat": int, "reason": str})
        if not ours and said is not None:
            owner = said.get("owner")
            self._later(lambda: self._release_here(
                said["chat"], owner if isinstance(owner, str) else None, said["reason"]))

    def typing_elsewhere(self, ident: str, ours: bool) -> None:
        said = _announced(ident, {"session": str, "by": str, "on": bool})
        if not ours and said is not None and said["by"] in ("agent", "visitor"):
            self._later(lambda: self._typing_here(said["session"], said["by"], said["on"]))

    def notes_elsewhere(self, ident: str, ours: bool) -> None:
        if not ours and ident.isdigit():
            chat_id = int(ident)
            self._later(lambda: self._notes_here(chat_id))

    def agent_elsewhere(self, ident: str, ours: bool) -> None:
        said = _announced(ident, {"agent": str})
        if not ours and said is not None:
            on = said.get("accepting")
            self._later(lambda: self._agent_changed_here(
                said["agent"], on if isinstance(on, bool) else None))

    def tickets_elsewhere(self, ident: str, ours: bool) -> None:
        if not ours:
            self._later(lambda: self._push(tickets_changed=True))

    def _later(self, work: Callable[[], Awaitable[None]]) -> None:
        """Queue work for the one worker that does it in order (a push awaits its sockets)."""
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._work())
        self._elsewhere.put_nowait(work)

    async def _work(self) -> None:
        while True:
            work = await self._elsewhere.get()
            try:
                await work()
            except Exception:  # a failed push must not stop the ones after it
                log.exception("live events: a change made elsewhere was not pushed")

    async def _chat_changed(self, chat_id: int) -> None:
        self.changed_here(chat_id)
        await self.broadcast()  # a chat ended elsewhere: its node announced the release too

    async def _opened(self, chat_id: int) -> None:
        """A chat given elsewhere to an agent with a console here (the auto-assignment of
        another node) opens in it."""
        chat = self.ctx.db().chat(chat_id)
        if chat is not None and chat.status == "agent" and chat.owner in self.ctx.conns:
            # This node's own plans put the agent behind their equals too.
            self.ctx.last_assigned[chat.owner] = chat.claimed_at or time.time()
            await self._open_here(chat.owner, chat)

    async def _event_stored(self, session_id: str, seq: int) -> None:
        """A visitor's message or an agent's reply stored elsewhere, to the consoles here that
        watch its chat (the process that stored it told its own)."""
        chat = self.ctx.db().active_chat(session_id)
        if chat is None:  # a conversation with the bot: no console shows it
            return
        found = self.ctx.visitors.transcript(session_id, seq - 1)[:1]
        if found and found[0].seq == seq:
            await self._to_consoles(chat, found[0])

    async def _to_consoles(self, chat: Chat, stored: Stored) -> None:
        event = stored.event
        if isinstance(event, Queued):  # told elsewhere: not told again here
            self.ctx.announced[chat.id] = (event.position, event.eta_s)
        elif isinstance(event, Reply) and event.meta.get("kind") == "agent":
            await self.to_watchers(chat, af.Event(chat=chat.id, event=stored.to_wire()))
        elif isinstance(event, Reply) and event.meta.get("kind") == "consent":
            # The visitor gave or withdrew consent on another node: what the consoles here
            # already show of the chat is sent again, as the consent now says.
            self.changed_here(chat.id)
            if self._watched(chat):
                await self.to_watchers(chat, self.views.chat_frame(chat))
            await self.broadcast()
        elif isinstance(event, Visitor):
            shown = self.views.disclosure(chat).event(stored)
            await self.to_watchers(chat, af.Event(chat=chat.id, event=shown))
            self.views.visitor_wrote(chat.id, event.text)
            self.changed_here(chat.id)
            if chat.status == "queued":
                await self.broadcast()

    async def catch_up(self) -> None:
        """Announcements were missed while the bus reconnected: every active chat is pushed
        again as the store has it, and the consoles watching one get its last messages again
        (a console keeps each seq once, so only the missed ones show)."""
        for chat in self.ctx.db().active_chats():
            self.changed_here(chat.id)
            if self._watched(chat):
                for stored in self.ctx.visitors.transcript(chat.session_id)[-CATCH_UP_EVENTS:]:
                    await self._to_consoles(chat, stored)
        await self.broadcast()

    def _watched(self, chat: Chat) -> bool:
        """Whether a console here has the chat open."""
        return any((username == chat.owner and chat.status == "agent") or chat.id in conn.viewing
                   for username, conns in self.ctx.conns.items() for conn in conns)


def _announced(ident: str, fields: dict[str, type]) -> dict | None:
    """An announcement's JSON with the fields it must have, or None (logged) when it has not:
    only database clients can announce, but a malformed one must not stop the listener."""
    try:
        said = json.loads(ident)
    except ValueError:
        said = None
    if isinstance(said, dict) and all(isinstance(said.get(k), t) for k, t in fields.items()):
        return said
    log.warning("live events: malformed announcement dropped")
    return None
