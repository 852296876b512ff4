"""Every frame the server sends to agent consoles, typed (docs/protocol.md, "Agent protocol").

``error`` and ``pong`` have the visitor protocol's shape and live in ``runtime.frames``. Chat
cards, queue lists, notes, tickets and stored events inside these frames are plain JSON values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from runtime.frames import Frame, optional

JSON = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class AuthOk(Frame):
    """After ``login`` (with a new token and when it expires) or ``auth`` (without)."""

    type: ClassVar[str] = "auth_ok"
    token: str | None = optional()
    expires_at: float | None = optional()
    agent: JSON
    all_queues: list[JSON]
    hotline: str


@dataclass(frozen=True, kw_only=True)
class LoggedOut(Frame):
    type: ClassVar[str] = "logged_out"


@dataclass(frozen=True, kw_only=True)
class Canned(Frame):
    type: ClassVar[str] = "canned"
    replies: list[JSON]


@dataclass(frozen=True, kw_only=True)
class Tickets(Frame):
    """Open tickets after login and when they change; ``status`` answers a ``tickets`` request."""

    type: ClassVar[str] = "tickets"
    status: str | None = optional()
    tickets: list[JSON]


@dataclass(frozen=True, kw_only=True)
class TicketDone(Frame):
    type: ClassVar[str] = "ticket_done"
    ticket: int


@dataclass(frozen=True, kw_only=True)
class OpenChat(Frame):
    """A chat opened for this agent: its card, notes, earlier handoffs, tickets, transcript."""

    type: ClassVar[str] = "chat"
    chat: JSON
    notes: list[JSON]
    history: list[JSON]
    tickets: list[JSON]
    transcript: list[JSON]


@dataclass(frozen=True, kw_only=True)
class Queues(Frame):
    """The full snapshot, once per connection."""

    type: ClassVar[str] = "queues"
    now: float
    queues: list[JSON]
    mine: list[JSON]
    accepting: bool
    online_agents: list[JSON]


@dataclass(frozen=True, kw_only=True)
class QueuesDelta(Frame):
    """What changed since the last snapshot or delta."""

    type: ClassVar[str] = "queues_delta"
    now: float
    upsert: list[JSON]
    remove: list[int]
    accepting: bool
    online_agents: list[JSON]


@dataclass(frozen=True, kw_only=True)
class Overview(Frame):
    """Supervisors: every queue and agent."""

    type: ClassVar[str] = "overview"
    now: float
    queues: list[JSON]
    agents: list[JSON]


@dataclass(frozen=True, kw_only=True)
class Event(Frame):
    """A new stored event of an open chat, as the visitor's socket has it."""

    type: ClassVar[str] = "event"
    chat: int
    event: JSON


@dataclass(frozen=True, kw_only=True)
class Typing(Frame):
    type: ClassVar[str] = "typing"
    chat: int
    on: bool


@dataclass(frozen=True, kw_only=True)
class Released(Frame):
    type: ClassVar[str] = "released"
    chat: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class Sent(Frame):
    """The agent's message is stored; ``id`` echoes theirs (null when they gave none)."""

    type: ClassVar[str] = "sent"
    chat: int
    id: str | None
    seq: int | None


@dataclass(frozen=True, kw_only=True)
class Assist(Frame):
    type: ClassVar[str] = "assist"
    chat: int
    query: str
    lang: str
    script: str
    answers: list[JSON]


@dataclass(frozen=True, kw_only=True)
class Notes(Frame):
    type: ClassVar[str] = "notes"
    chat: int
    notes: list[JSON]


@dataclass(frozen=True, kw_only=True)
class SearchResults(Frame):
    type: ClassVar[str] = "search"
    query: str
    chats: list[JSON]
    tickets: list[JSON]
