"""Every frame the server sends to visitors, typed (docs/protocol.md, "Visitor protocol").

``error`` and ``pong`` are shared with the agent protocol and live in ``runtime.frames``.
``Visitor``, ``Reply``, ``State`` and ``Queued`` are the conversation's stored events: they live
in ``conversation.events`` (the handoff service reads them back typed) and are named here with
the other visitor frames. ``Hub.emit`` stores their wire form with a ``ts`` and the session's
next ``seq``, and what it stores is what every device of the session gets, then and in a replay
after a reconnect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from conversation.events import JSON, Queued, Reply, State, Visitor
from runtime.frames import Frame, optional, renamed

__all__ = ["JSON", "Ack", "Lang", "Moved", "Queued", "Rated", "Ready", "Reply", "State", "Transfer",
           "Typing", "Visitor", "Welcome"]

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
