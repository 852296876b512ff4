"""The one port through which the conversation owner and the handoff service reach a visitor.

They decide what a visitor is told; the channel (bot.hub.Hub implements it) stores it as the
conversation's next event and writes it to the visitor's sockets once the open transaction
committed. Nothing here knows sockets or the hub's shape.

What the handoff says is written once, in Simplified Chinese or English (handoff/texts.py), and
the channel converts it to the visitor's script exactly once (``VisitorChannel.say``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from conversation.events import Stored
from conversation.lifecycle import Holder
from runtime.language import Lang, Script


@dataclass(frozen=True)
class Told:
    """What a visitor's ``state`` frame says: the holder and, while waiting, where."""

    holder: Holder
    queue: str | None = None
    position: int | None = None
    eta_s: int | None = None
    agent: str | None = None  # the agent's display name, never their username
    rating: bool | None = None


@dataclass(frozen=True)
class QuickReply:
    label: str
    value: str


@dataclass(frozen=True)
class Notice:
    """A message to the visitor from the system or an agent. ``text`` and the quick replies are
    Simplified Chinese or English as written; the channel converts them to the visitor's script.
    ``kind`` is the reply's ``meta.kind`` (handoff, notice, agent)."""

    text: str
    sender: Literal["system", "agent"] = "system"
    kind: str = "handoff"
    lang: Lang | None = None  # None: the visitor's own
    agent: str | None = None  # an agent's display name
    quick_replies: tuple[QuickReply, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VisitorLanguage:
    """What a visitor is answered in: the language, and the script replies are written in."""

    lang: Lang
    script: Script


class VisitorChannel(Protocol):
    def language(self, session_id: str, fallback: str | None = None) -> VisitorLanguage:
        """The visitor's reply language and script (``fallback``: the language to assume when
        the conversation has none yet)."""
        ...

    async def say(self, session_id: str, notice: Notice) -> Stored:
        """Store the notice, converted once to the visitor's script, and send it after commit."""
        ...

    async def tell(self, session_id: str, told: Told) -> Stored:
        """Store the ``state`` frame for the conversation's holder and send it after commit."""
        ...

    async def typing(self, session_id: str, sender: str, on: bool) -> None:
        """Show or hide the typing indicator (not stored)."""
        ...

    def transcript(self, session_id: str, after_seq: int = 0) -> list[Stored]:
        """The conversation's stored events after ``after_seq``, in order."""
        ...

    def channel_of(self, session_id: str) -> str | None:
        """Where the visitor writes from (web, mobile), for the agent's card."""
        ...

    def is_online(self, session_id: str) -> bool:
        """Whether a socket of the visitor is open on this node."""
        ...

    def context(self, session_id: str) -> dict:
        """The bot's stored dialogue context (JSON), e.g. a service form left for a person."""
        ...

    def ip_of(self, session_id: str) -> str | None:
        """The client address the visitor last spoke from (per-address limits)."""
        ...

    def record_consent(self, session_id: str, consent: str) -> None:
        """The visitor gave or withdrew their consent: agents see their details as it now says
        (the context's ``agent_consent``: granted, refused or withdrawn, handoff/disclosure.py)."""
        ...
