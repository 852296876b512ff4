"""Who holds a conversation, and the moves between holders: a pure core.

State in, event in, new state and effects out, like the websockets library's sans-I/O protocol:
nothing here reads a clock, a socket or a database. The component that owns conversations
applies these transitions under the conversation's lock, writes the new state in one
transaction and then carries out the effects (tell the visitor, refresh the agents' queues).

    bot ──Escalate──▶ queued ──Claim──▶ agent ──Resolve──▶ closed
     ▲                  │  ▲              │ │                 │
     │  LeaveQueue /    │  └──Requeue─────┘ └─HandBack──▶ bot  │
     └──TakeTicket──────┘                                      │
     ◀───────────────────────────Reopen────────────────────────┘
    (Close from bot, queued or agent; Reassign moves a chat from one agent to another.)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Holder(StrEnum):
    BOT = "bot"
    QUEUED = "queued"
    AGENT = "agent"
    CLOSED = "closed"


HUMAN_SIDE = (Holder.QUEUED, Holder.AGENT)


@dataclass(frozen=True)
class Conversation:
    """The one record of who holds a conversation. ``queue`` is set while a person is involved
    (waiting or talking), ``agent`` only while an agent holds it; ``leaving_message`` is a
    waiting visitor who chose to leave a message instead (what they write becomes a ticket)."""

    holder: Holder = Holder.BOT
    queue: str | None = None
    agent: str | None = None
    leaving_message: bool = False

    def __post_init__(self) -> None:
        if (self.queue is not None) != (self.holder in HUMAN_SIDE):
            raise ValueError(f"a {self.holder} conversation {'needs' if self.queue is None else 'has no'} queue")
        if (self.agent is not None) != (self.holder is Holder.AGENT):
            raise ValueError(f"only an agent-held conversation names an agent ({self.holder})")
        if self.leaving_message and self.holder is not Holder.QUEUED:
            raise ValueError("only a waiting visitor can be leaving a message")


# Events --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Escalate:
    """The visitor asked for a person (or the bot gave up) and was routed to ``queue``."""
    queue: str


@dataclass(frozen=True)
class Claim:
    agent: str


@dataclass(frozen=True)
class Requeue:
    """Back to a queue from an agent: a transfer to a queue, or the agent went away."""
    queue: str


@dataclass(frozen=True)
class Reassign:
    """A transfer from one agent straight to another."""
    agent: str


@dataclass(frozen=True)
class LeaveMessage:
    """A waiting visitor chose "leave a message": their next words become a ticket."""


@dataclass(frozen=True)
class TakeTicket:
    """What a waiting visitor wrote became a ticket; the bot has the conversation again."""
    visitor_gone: bool = False


@dataclass(frozen=True)
class LeaveQueue:
    """The waiting visitor went away (past the grace period) without writing anything."""


@dataclass(frozen=True)
class HandBack:
    """The agent handed the conversation back to the bot."""


@dataclass(frozen=True)
class Resolve:
    """The agent resolved the conversation; the visitor is asked to rate it."""


@dataclass(frozen=True)
class Close:
    """The visitor ended the conversation."""


@dataclass(frozen=True)
class Reopen:
    """The visitor wrote again in a closed conversation."""


Event = (Escalate | Claim | Requeue | Reassign | LeaveMessage | TakeTicket | LeaveQueue | HandBack
         | Resolve | Close | Reopen)


# Effects -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TellVisitor:
    """Send the visitor a ``state`` frame for the new holder."""
    holder: Holder
    rating: bool = False


@dataclass(frozen=True)
class QueuesChanged:
    """The agents' views of these queues changed (a chat joined, left or moved)."""
    queues: tuple[str, ...]


@dataclass(frozen=True)
class EndChat:
    """The current episode with people is over, with this outcome (kept for reports)."""
    outcome: str


Effect = TellVisitor | QueuesChanged | EndChat


@dataclass(frozen=True)
class Transition:
    before: Conversation
    after: Conversation
    effects: tuple[Effect, ...]


@dataclass(frozen=True)
class Refused:
    """The event does not apply to the conversation as it is now (a stale click, a race
    between two agents): nothing changes, and the caller says so to whoever sent it."""
    conversation: Conversation
    event: Event
    reason: str


# Transitions ---------------------------------------------------------------------------------

_FROM: dict[type, tuple[Holder, ...]] = {
    Escalate: (Holder.BOT,),
    Claim: (Holder.QUEUED,),
    Requeue: (Holder.AGENT,),
    Reassign: (Holder.AGENT,),
    LeaveMessage: (Holder.QUEUED,),
    TakeTicket: (Holder.QUEUED,),
    LeaveQueue: (Holder.QUEUED,),
    HandBack: (Holder.AGENT,),
    Resolve: (Holder.AGENT,),
    Close: (Holder.BOT, Holder.QUEUED, Holder.AGENT),
    Reopen: (Holder.CLOSED,),
}


def allowed(holder: Holder, event: Event) -> bool:
    return holder in _FROM[type(event)]


def apply(conv: Conversation, event: Event) -> Transition | Refused:
    """The new state and what must happen because of it, or why the event does not apply."""
    if not allowed(conv.holder, event):
        return Refused(conv, event, f"{type(event).__name__} does not apply to a {conv.holder} conversation")
    if isinstance(event, Reassign) and event.agent == conv.agent:
        return Refused(conv, event, "the conversation is already with that agent")
    if isinstance(event, LeaveMessage) and conv.leaving_message:
        return Refused(conv, event, "the visitor is already leaving a message")
    after = _next(conv, event)
    return Transition(conv, after, _effects(conv, after, event))


def _next(conv: Conversation, event: Event) -> Conversation:
    match event:
        case Escalate(queue=queue) | Requeue(queue=queue):
            return Conversation(Holder.QUEUED, queue=queue)
        case Claim(agent=agent) | Reassign(agent=agent):
            return Conversation(Holder.AGENT, queue=conv.queue, agent=agent)
        case LeaveMessage():
            return Conversation(Holder.QUEUED, queue=conv.queue, leaving_message=True)
        case TakeTicket() | LeaveQueue() | HandBack() | Reopen():
            return Conversation(Holder.BOT)
        case Resolve() | Close():
            return Conversation(Holder.CLOSED)
    raise AssertionError(f"unhandled event {event!r}")  # _FROM and this match list the same events


def _effects(before: Conversation, after: Conversation, event: Event) -> tuple[Effect, ...]:
    effects: list[Effect] = []
    if before.holder in HUMAN_SIDE and after.holder not in HUMAN_SIDE:
        effects.append(EndChat(_outcome(event)))
    if (before.holder, before.queue, before.agent) != (after.holder, after.queue, after.agent):
        effects.append(TellVisitor(after.holder, rating=isinstance(event, Resolve)))
    queues = tuple(dict.fromkeys(q for q in (before.queue, after.queue) if q is not None))
    if queues and before != after:
        effects.append(QueuesChanged(queues))
    return tuple(effects)


def _outcome(event: Event) -> str:
    match event:
        case TakeTicket():
            return "ticket"
        case LeaveQueue():
            return "visitor_gone"
        case HandBack():
            return "handed_back"
        case Resolve():
            return "resolved"
        case Close():
            return "visitor_closed"
    raise AssertionError(f"{event!r} does not end a chat")
