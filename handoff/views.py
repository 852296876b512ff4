"""Read models: what agent consoles are shown. A chat's card and its queue-list item, the full
queue snapshot and the per-agent delta, the supervisors' overview, the tickets list and an
opened chat with its notes, history and transcript. Reads only: nothing here sends a frame."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from conversation.events import Stored
from handoff import agent_frames as af
from handoff.context import HandoffContext
from handoff.disclosure import Disclosure
from handoff.positions import agent_states
from handoff.queueing import Waiting, positions, required_skill, serves
from handoff.store import Agent, Chat


class Views:
    def __init__(self, ctx: HandoffContext) -> None:
        self.ctx = ctx
        # A cache of each active chat's queue-list item (without per-agent fields), and of the
        # visitor's last message (as written: masked or not when the item is built), so a push
        # costs what changed, not the whole queue. A consent given or withdrawn changes the chat
        # (Notifier.changed), which drops its item.
        self.items: dict[int, dict[str, Any]] = {}
        self.last_texts: dict[int, str | None] = {}

    def invalidate(self, chat_id: int) -> None:
        self.items.pop(chat_id, None)

    def visitor_wrote(self, chat_id: int, text: str) -> None:
        """The visitor's newest message: the chat's item shows it without reading the history."""
        self.last_texts[chat_id] = text

    def forget(self, chat_id: int) -> None:
        """The chat is over: nothing cached for it is needed again."""
        self.items.pop(chat_id, None)
        self.last_texts.pop(chat_id, None)

    def disclosure(self, chat: Chat) -> Disclosure:
        """How much of the visitor's details agents see in this chat (handoff/disclosure.py)."""
        return self.disclosure_of(chat.session_id)

    def disclosure_of(self, session_id: str) -> Disclosure:
        return Disclosure.of(self.ctx.visitors.context(session_id))

    def chat_info(self, chat: Chat, shown: Disclosure) -> dict[str, Any]:
        ctx = self.ctx
        told = ctx.language(chat)
        region = next((r for r in ctx.table.regions if r.id == chat.region), None)
        owner = ctx.db().agent(chat.owner) if chat.owner else None
        queue = ctx.table.queues.get(chat.queue_id)
        return {
            "id": chat.id, "status": chat.status, "queue": chat.queue_id,
            "queue_zh": queue.zh if queue else chat.queue_id,
            "queue_en": queue.en if queue else chat.queue_id,
            "lang": chat.lang, "visitor_lang": told.lang, "script": told.script,
            "channel": ctx.visitors.channel_of(chat.session_id),
            "online": ctx.visitors.is_online(chat.session_id),
            "business_option": chat.business_option, "region": chat.region,
            "region_zh": region.zh if region else None, "region_en": region.en if region else None,
            "city": chat.city, "overseas": chat.overseas,
            "summary": shown.text(chat.summary), "consent": shown.agreed,
            "reason": chat.reason, "rule": chat.rule, "owner": chat.owner,
            "owner_name": owner.name if owner else None, "waiting_since": chat.waiting_since,
            "claimed_at": chat.claimed_at, "leaving_message": chat.leaving_message,
            "purged_at": chat.purged_at,
        }

    def chat_frame(self, chat: Chat) -> af.OpenChat:
        db = self.ctx.db()
        shown = self.disclosure(chat)
        # The visitor's earlier handoffs in this conversation (same resume token, followed across
        # a phone transfer) and the messages they left.
        history = [{"id": c.id, "status": c.status, "outcome": c.outcome, "queue": c.queue_id,
                    "owner": c.owner,
                    "summary": shown.text(c.summary), "waiting_since": c.waiting_since,
                    "ended_at": c.ended_at, "purged_at": c.purged_at}
                   for c in db.chats_of_session(chat.session_id) if c.id != chat.id]
        tickets = [shown.ticket({"id": t["id"], "ref": t["ref"], "status": t["status"],
                                 "text": t["text"], "reply": t["reply"],
                                 "created_at": t["created_at"], "purged_at": t["purged_at"]})
                   for t in db.tickets(None) if t["session_id"] == chat.session_id]
        # What was said was removed under the retention policy: what is left of the events
        # (types and times) tells an agent nothing, so none is sent.
        transcript = [] if chat.purged_at is not None else self.ctx.visitors.transcript(chat.session_id)
        if chat.status not in ("queued", "agent") and chat.ended_at is not None:
            # A past chat (search, history) shows what was said until it ended, never what the
            # visitor wrote afterwards.
            end = datetime.fromtimestamp(chat.ended_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            transcript = [e for e in transcript if e.ts <= end]
        info = {**self.chat_info(chat, shown), "form": self.open_form(chat, shown)}
        return af.OpenChat(chat=info, notes=db.notes(chat.session_id),
                           history=history, tickets=tickets,
                           transcript=shown.events(e.to_wire() for e in transcript))

    def open_form(self, chat: Chat, shown: Disclosure) -> dict[str, Any] | None:
        """The service form the visitor left for a person (which service, the fields given:
        bot/form_summary.py), while the chat waits or is served."""
        if chat.status not in ("queued", "agent") or chat.purged_at is not None:
            return None
        return shown.form(self.ctx.visitors.context(chat.session_id).get("form_at_handoff"))

    def item(self, chat: Chat) -> dict[str, Any]:
        """A chat as the agents' queue lists show it (cached until the chat changes)."""
        item = self.items.get(chat.id)
        if item is None:
            shown = self.disclosure(chat)
            item = self.chat_info(chat, shown)
            if chat.id not in self.last_texts:  # read the history once per chat, not per push
                self.last_texts[chat.id] = last_visitor_text(
                    self.ctx.visitors.transcript(chat.session_id))
            item["last_text"] = shown.text(self.last_texts[chat.id])
            self.items[chat.id] = item
        return item

    def for_agent(self, agent: Agent, chat: Chat, now: float) -> dict[str, Any] | None:
        """The chat's item in this agent's lists, or None when they do not see it."""
        if chat.status == "queued" and (agent.role == "supervisor" or "*" in agent.queues
                                        or chat.queue_id in agent.queues):
            return {**self.item(chat), "wait_s": int(now - chat.waiting_since),
                    "eligible": required_skill(chat.lang) in agent.langs}
        if chat.status == "agent" and chat.owner == agent.username:
            return self.item(chat)
        return None

    def online_agents(self) -> list[dict[str, Any]]:
        """Who a chat can be transferred to: agents with a console on this node or, with several
        nodes, on another live one."""
        ctx = self.ctx
        elsewhere = ctx.consoles.elsewhere() if ctx.consoles is not None else {}
        return [{"username": a.username, "name": a.name, "langs": a.langs}
                for a in ctx.db().agents()
                if (ctx.conns.get(a.username) or a.username in elsewhere) and not a.disabled]

    def snapshot(self, agent: Agent, chats: list[Chat] | None = None) -> af.Queues:
        """Everything the agent sees: sent once per connection (then `queues_delta`)."""
        now = time.time()
        chats = self.ctx.db().active_chats() if chats is None else chats
        pos = positions([Waiting(c.id, c.queue_id, c.lang, None, c.waiting_since)
                         for c in chats if c.status == "queued"])
        waiting: dict[str, list[dict[str, Any]]] = {}
        mine = []
        for c in chats:
            item = self.for_agent(agent, c, now)
            if item is None:
                continue
            if c.status == "queued":
                waiting.setdefault(c.queue_id, []).append({**item, "position": pos.get(c.id)})
            else:
                mine.append(item)
        queues = [{"id": q.id, "zh": q.zh, "en": q.en, "kind": q.kind,
                   "waiting": waiting.get(q.id, [])}
                  for q in self.ctx.table.queues.values()
                  if agent.role == "supervisor" or "*" in agent.queues or q.id in agent.queues]
        return af.Queues(now=now, queues=queues, mine=mine,
                         accepting=self.ctx.accepting.get(agent.username, False),
                         online_agents=self.online_agents())

    def delta(self, agent: Agent, changed: dict[int, Chat | None],
              online: list[dict[str, Any]]) -> af.QueuesDelta:
        """What changed for this agent since the last push: chats to add or replace in their
        lists (``upsert``; a chat's place follows from ``status``, ``queue`` and
        ``waiting_since``), chats to drop (``remove``), and the small per-agent fields."""
        now = time.time()
        upsert, remove = [], []
        for chat_id, chat in changed.items():
            item = self.for_agent(agent, chat, now) if chat is not None else None
            if item is None:
                remove.append(chat_id)
            else:
                upsert.append(item)
        return af.QueuesDelta(now=now, upsert=upsert, remove=remove,
                              accepting=self.ctx.accepting.get(agent.username, False),
                              online_agents=online)

    def overview(self) -> af.Overview:
        now = time.time()
        db = self.ctx.db()
        owned = db.owned_rows()
        stats = db.queue_stats()
        states = {a.username: a for a in agent_states(self.ctx)}
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
        for q in self.ctx.table.queues.values():
            n, oldest = stats.get(q.id, (0, now))
            queues.append({
                "id": q.id, "zh": q.zh, "en": q.en, "waiting": n,
                "oldest_wait_s": int(now - oldest) if n else 0,
                "active": active.get(q.id, 0),
                "agents_online": sum(1 for s in states.values() if s.online and serves(s, q.id)),
            })
        return af.Overview(now=now, queues=queues, agents=agents)

    def tickets_frame(self, agent: Agent) -> af.Tickets:
        scope = None if agent.role == "supervisor" else agent.queues
        return af.Tickets(tickets=self.tickets(self.ctx.db().tickets("open", scope)))

    def tickets(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Tickets as agents see them: each visitor's text as their conversation's consent says."""
        return [self.disclosure_of(t["session_id"]).ticket(t) for t in rows]

    def found(self, query: str, found: dict[str, list[dict]]) -> af.SearchResults:
        """Search results as agents see them: each chat's summary and the snippet around the
        match, and each ticket's text, as their conversation's consent says."""
        chats = []
        for c in found["chats"]:
            shown = self.disclosure_of(c.pop("session_id"))
            chats.append({**c, "summary": shown.text(c["summary"]), "snippet": shown.text(c["snippet"])})
        return af.SearchResults(query=query, chats=chats, tickets=self.tickets(found["tickets"]))


def last_visitor_text(events: list[Stored]) -> str | None:
    """What the visitor wrote last, as written (masked or not by ``Views.item``)."""
    for stored in reversed(events):
        event = stored.to_wire()
        if event.get("type") == "visitor" and event.get("text"):
            return str(event["text"])
    return None
