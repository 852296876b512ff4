"""Every frame the server sends to visitors, typed (docs/protocol.md, "Visitor protocol").

``error`` and ``pong`` are shared with the agent protocol and live in ``runtime.frames``.
``Visitor``, ``Reply``, ``State`` and ``Queued`` are events: ``Hub.emit`` stores their wire form
with a ``ts`` and the session's next ``seq``, and what it stores is what every device of the
session gets, then and in a replay after a reconnect. Sources, quick replies and ``meta`` are
plain JSON values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from runtime.frames import Frame, optional, renamed

JSON = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Welcome(Frame):
    """The answer to ``hello``: the resume token and where the conversation stands."""

    type: ClassVar[str] = "welcome"
    session: str
    lang: str | None
    locked: bool
    state: str
    last_seq: int
    expires_at: str
    starting: Literal[True] | None = optional()  # models still loading; `ready` follows


@dataclass(frozen=True, kw_only=True)
class Ready(Frame):
    """The models are loaded: answers follow."""

    type: ClassVar[str] = "ready"


@dataclass(frozen=True, kw_only=True)
class Ack(Frame):
    """The visitor's message ``id`` is stored as event ``seq``."""

    type: ClassVar[str] = "ack"
    id: str
    seq: int


@dataclass(frozen=True, kw_only=True)
class Visitor(Frame):
    """Event: the visitor's own message. ``meta`` (the bot's reading) is added once it is read."""

    type: ClassVar[str] = "visitor"
    id: str
    text: str
    meta: JSON | None = optional()


@dataclass(frozen=True, kw_only=True)
class Reply(Frame):
    """Event: a message from the bot, an agent or the system. ``title``, ``short`` and
    ``details`` are on answers only: the same answer as ``text``, in parts."""

    type: ClassVar[str] = "reply"
    sender: str = renamed("from")  # bot, agent or system
    text: str
    lang: str
    script: str
    title: str | None = optional()
    short: str | None = optional()
    details: str | None = optional()
    sources: list[JSON]
    quick_replies: list[JSON]
    meta: JSON


@dataclass(frozen=True, kw_only=True)
class State(Frame):
    """Event: the conversation's holder changed (bot, agent, closed). ``agent`` names the agent
    who took the chat; ``rating`` asks for a rating when an agent resolved it."""

    type: ClassVar[str] = "state"
    state: str
    agent: str | None = optional()
    rating: bool | None = optional()


@dataclass(frozen=True, kw_only=True)
class Queued(Frame):
    """Event: the ``state`` frame while the chat waits for an agent, sent again whenever the
    position or the estimate moves. ``eta_s`` is null when there is no estimate."""

    type: ClassVar[str] = "state"
    state: Literal["queued"] = "queued"
    queue: str
    position: int
    eta_s: int | None


@dataclass(frozen=True, kw_only=True)
class Typing(Frame):
    """Not stored: the bot or the agent is typing."""

    type: ClassVar[str] = "typing"
    sender: str = renamed("from")
    on: bool


@dataclass(frozen=True, kw_only=True)
class Lang(Frame):
    """The reply language now, and whether the visitor chose (locked) it."""

    type: ClassVar[str] = "lang"
    lang: str | None
    locked: bool


@dataclass(frozen=True, kw_only=True)
class Rated(Frame):
    type: ClassVar[str] = "rated"
    score: int


@dataclass(frozen=True, kw_only=True)
class Transfer(Frame):
    """A one-time "continue on your phone" token, its link and its QR code."""

    type: ClassVar[str] = "transfer"
    token: str
    url: str
    qr: str
    expires_in: int


@dataclass(frozen=True, kw_only=True)
class Moved(Frame):
    """The conversation continues on another device: this one is detached."""

    type: ClassVar[str] = "moved"
    channel: str
