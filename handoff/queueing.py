"""Pure queue logic: who may take a chat, queue positions, estimated waits, auto-assignment.

No I/O: the service feeds in the waiting chats and the agents' live state and applies the result.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Waiting:
    chat_id: int
    queue_id: str
    lang: str            # zh | en  (the chat's language)
    script: str | None   # zh-Hans | zh-Hant | yue | en | None
    waiting_since: float


@dataclass(frozen=True)
class AgentState:
    username: str
    role: str
    queues: tuple[str, ...]   # "*" = every queue
    langs: tuple[str, ...]    # zh, yue, en
    max_chats: int
    load: int                 # chats owned now
    online: bool
    accepting: bool
    last_assigned: float = 0.0

    @property
    def has_room(self) -> bool:
        return self.load < self.max_chats


def required_skill(lang: str) -> str:
    """The language skill an agent needs: en for English chats, zh for Chinese (incl. Cantonese)."""
    return "en" if lang == "en" else "zh"


def serves(agent: AgentState, queue_id: str) -> bool:
    return "*" in agent.queues or queue_id in agent.queues


def eligible(agent: AgentState, chat: Waiting) -> bool:
    return serves(agent, chat.queue_id) and required_skill(chat.lang) in agent.langs


def ordered(chats: list[Waiting]) -> list[Waiting]:
    """Oldest waiting first; the id breaks ties so the order is stable."""
    return sorted(chats, key=lambda c: (c.waiting_since, c.chat_id))


def positions(chats: list[Waiting]) -> dict[int, int]:
    """1-based position of each waiting chat inside its own queue."""
    out: dict[int, int] = {}
    counts: dict[str, int] = {}
    for c in ordered(chats):
        counts[c.queue_id] = counts.get(c.queue_id, 0) + 1
        out[c.chat_id] = counts[c.queue_id]
    return out


def average_handle_s(handle_times: list[float], default_s: float) -> float:
    """Median of recent handling times (robust to one forgotten chat), or the table default."""
    recent = [t for t in handle_times if t and t > 0]
    return statistics.median(recent) if len(recent) >= 3 else default_s


def eta_s(position: int, capacity: int, avg_handle_s: float) -> int | None:
    """Estimated wait: chats ahead are worked off ``capacity`` at a time; None if nobody is online.

    Rounded up to whole 30-second steps so that the visitor does not get an update every second.
    """
    if capacity <= 0:
        return None
    rounds = math.ceil(position / capacity)
    return int(math.ceil(rounds * avg_handle_s / 30.0) * 30)


def capacity(agents: list[AgentState], chat: Waiting) -> int:
    """Parallel chat slots of the online agents who could take this chat."""
    return sum(a.max_chats for a in agents if a.online and eligible(a, chat))


def plan_assignments(waiting: list[Waiting], agents: list[AgentState]) -> list[tuple[int, str]]:
    """Oldest waiting chat first, each to the least-loaded online, accepting, eligible agent."""
    loads = {a.username: a.load for a in agents}
    last = {a.username: a.last_assigned for a in agents}
    plan: list[tuple[int, str]] = []
    for chat in ordered(waiting):
        candidates = [a for a in agents if a.online and a.accepting and eligible(a, chat)
                      and loads[a.username] < a.max_chats]
        if not candidates:
            continue
        # Least loaded first; among equals the one who waited longest since their last chat.
        best = min(candidates, key=lambda a: (loads[a.username], last[a.username], a.username))
        loads[best.username] += 1
        last[best.username] = float("inf")  # stays behind equals in this round
        plan.append((chat.chat_id, best.username))
    return plan
