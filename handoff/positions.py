"""Where each waiting chat stands: the agents' states as queueing.py sees them, every waiting
chat's position and estimated wait, and whether anyone who could take a chat is online."""

from __future__ import annotations

import time

from handoff.context import HandoffContext
from handoff.queueing import (
    AgentState,
    Waiting,
    average_handle_s,
    capacity,
    eligible,
    eta_s,
    positions,
    required_skill,
)
from handoff.store import Chat


def agent_states(ctx: HandoffContext) -> list[AgentState]:
    """Every enabled agent as the auto-assignment sees them: online and accepting on this node
    or, with several nodes, on any live one (handoff/consoles.py)."""
    loads: dict[str, int] = {}
    for _, owner, _ in ctx.db().owned_rows():
        if owner:
            loads[owner] = loads.get(owner, 0) + 1
    shared = ctx.consoles.elsewhere() if ctx.consoles is not None else {}
    states = []
    for a in ctx.db().agents():
        if a.disabled:
            continue
        there = shared.get(a.username)
        states.append(AgentState(
            username=a.username, role=a.role, queues=tuple(a.queues), langs=tuple(a.langs),
            max_chats=a.max_chats, load=loads.get(a.username, 0),
            online=online(ctx, a.username) or there is not None,
            accepting=ctx.accepting.get(a.username, False) or bool(there and there.accepting),
            last_assigned=max(ctx.last_assigned.get(a.username, 0.0),
                              there.last_assigned if there else 0.0)))
    return states


def online(ctx: HandoffContext, username: str) -> bool:
    """Connected with a token that is still valid (an idle console may outlive its token)."""
    now = time.time()
    return any(c.token_hash and ctx.db().token_user(c.token_hash, now) == username
               for c in ctx.conns.get(username, ()))


def reachable(ctx: HandoffContext, username: str) -> bool:
    """With a console on this node or, with several nodes, on another live one: where a chat
    given to them opens (an agent does not know which node nginx put them on)."""
    if ctx.conns.get(username):
        return True
    return ctx.consoles is not None and username in ctx.consoles.elsewhere()


def waiting(ctx: HandoffContext) -> list[Waiting]:
    # The script plays no part in positions or assignment.
    return [Waiting(cid, queue, lang, None, since)
            for cid, queue, lang, since in ctx.db().waiting_rows()]


def queue_positions(ctx: HandoffContext) -> list[tuple[int, int, int | None]]:
    chats = waiting(ctx)
    agents = agent_states(ctx)
    pos = positions(chats)
    out = []
    # Free slots, capacity and handle time depend only on the queue and the language skill:
    # computed once per such group, not once per waiting chat.
    groups: dict[tuple[str, str], tuple[int, int, float]] = {}
    for w in chats:
        p = pos[w.chat_id]
        group = (w.queue_id, required_skill(w.lang))
        if group not in groups:
            free = sum(a.max_chats - a.load for a in agents
                       if a.online and a.accepting and eligible(a, w) and a.has_room)
            avg = average_handle_s(ctx.db().handle_times(w.queue_id), ctx.table.avg_handle_s)
            groups[group] = (free, capacity(agents, w), avg)
        free, cap, avg = groups[group]
        eta = None if cap == 0 else (30 if p <= free else eta_s(p - free, cap, avg))
        out.append((w.chat_id, p, eta))
    return out


def position_of(ctx: HandoffContext, chat_id: int) -> tuple[int, int | None]:
    for cid, pos, eta in queue_positions(ctx):
        if cid == chat_id:
            return pos, eta
    return 1, None


def eligible_online(ctx: HandoffContext, chat: Chat) -> bool:
    w = Waiting(chat.id, chat.queue_id, chat.lang, None, chat.waiting_since)
    return any(a.online and eligible(a, w) for a in agent_states(ctx))
