"""A conversation's stored events, typed: what the visitor wrote (``Visitor``), a message from the
bot, an agent or the system (``Reply``), and the holder's ``state`` frame (``State``, or
``Queued`` while the chat waits). Their wire form is the visitor protocol's (docs/protocol.md).

The hub stores an event's wire form with a ``ts`` and the session's next ``seq``; ``parse``
reads such a stored object back as a ``Stored`` event, and ``Stored.to_wire()`` gives the same
object again, key for key and in the same order, so a replay sends what was stored. Sources,
quick replies and ``meta`` are plain JSON values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from runtime.frames import Frame, optional, renamed

JSON = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Visitor(Frame):
    """The visitor's own message. ``meta`` (the bot's reading) is added once it is read."""

    type: ClassVar[str] = "visitor"
    id: str
    text: str
    meta: JSON | None = optional()


@dataclass(frozen=True, kw_only=True)
class Reply(Frame):
    """A message from the bot, an agent or the system. ``title``, ``short`` and ``details`` are
    on answers only: the same answer as ``text``, in parts."""

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
    """The conversation's holder changed (bot, agent, closed). ``agent`` names the agent who
    took the chat; ``rating`` asks for a rating when an agent resolved it."""

    type: ClassVar[str] = "state"
    state: str
    agent: str | None = optional()
    rating: bool | None = optional()


@dataclass(frozen=True, kw_only=True)
class Queued(Frame):
    """The ``state`` frame while the chat waits for an agent, sent again whenever the position
    or the estimate moves. ``eta_s`` is null when there is no estimate."""

    type: ClassVar[str] = "state"
    state: Literal["queued"] = "queued"
    queue: str
    position: int
    eta_s: int | None


Event = Visitor | Reply | State | Queued


@dataclass(frozen=True)
class Stored:
    """An event as the store holds it: numbered ``seq`` in its session, written at ``ts``."""

    event: Event
    seq: int
    ts: str

    def to_wire(self) -> dict[str, Any]:
        return {**self.event.to_wire(), "ts": self.ts, "seq": self.seq}

    @property
    def text(self) -> str | None:
        """What a visitor wrote or was told; None for a ``state`` frame."""
        return self.event.text if isinstance(self.event, Visitor | Reply) else None

    @property
    def meta(self) -> JSON:
        return (self.event.meta if isinstance(self.event, Visitor | Reply) else None) or {}


class UnknownEvent(ValueError):
    """A stored object that is none of the four events (never written by ``Hub.emit``)."""


def parse(stored: dict[str, Any]) -> Stored:
    """A stored event's object (``Hub.emit``'s, from the store) as a typed ``Stored``."""
    kind = stored.get("type")
    cls: type[Event]
    if kind == "state":
        cls = Queued if stored.get("state") == "queued" else State
    elif kind == "visitor":
        cls = Visitor
    elif kind == "reply":
        cls = Reply
    else:
        raise UnknownEvent(f"not a stored event: type {kind!r}")
    try:
        return Stored(cls.from_wire(stored), seq=int(stored["seq"]), ts=str(stored["ts"]))
    except (TypeError, KeyError) as missing:
        raise UnknownEvent(f"a stored {kind} event without its fields: {missing}") from missing


def for_consoles(event: Event) -> bool:
    """Whether agents' consoles are shown the event: a visitor's message, an agent's reply, a
    place in the queue, and the visitor's consent given or withdrawn (it changes what consoles
    may show of the chat). The bot's other messages, the system's and the other state frames
    are the visitor's alone."""
    if isinstance(event, Reply):
        return event.meta.get("kind") in ("agent", "consent")
    return isinstance(event, Visitor | Queued)


@dataclass(frozen=True)
class Announced:
    """What the other server processes are told of a stored event (storage/live.py): its session,
    its seq, and whether consoles are shown it, so that a process reads it from the store only
    when one of its sockets may show it (most events are a bot's answers, shown to the visitor's
    sockets alone)."""

    session_id: str
    seq: int
    for_consoles: bool

    @classmethod
    def of(cls, session_id: str, stored: Stored) -> Announced:
        return cls(session_id, stored.seq, for_consoles(stored.event))

    def ident(self) -> str:
        head, tail = self.around_seq(self.session_id, self.for_consoles)
        return f"{head}{self.seq}{tail}"

    @staticmethod
    def around_seq(session_id: str, for_consoles: bool) -> tuple[str, str]:
        """The ident before and after the seq: what a statement that numbers the event and
        announces it at once is given (the seq is the database's)."""
        return f"{session_id}:", f":{'c' if for_consoles else 'v'}"

    @classmethod
    def read(cls, ident: str) -> Announced | None:
        """An announcement's ident, or None when it is not one (only database clients announce,
        but a malformed one must be dropped, not fail the listener)."""
        session_id, seq, audience = (ident.rsplit(":", 2) + ["", ""])[:3]
        if not session_id or not (seq.isascii() and seq.isdigit()) or audience not in ("c", "v"):
            return None
        return cls(session_id, int(seq), audience == "c")
