"""Sans-I/O validation of agent websocket frames (docs/protocol.md, "Agent protocol").

``parse(raw)`` turns one text frame into the typed frame of its ``type``, whose fields have the
documented types, or raises ``AgentProtocolError`` with a code the console can show.
"""

from __future__ import annotations

import json
import typing
from dataclasses import MISSING, dataclass, fields
from typing import Any, ClassVar

from runtime.frames import Error
from runtime.text_cleaning import clean_text, has_lone_surrogate

MAX_FRAME_CHARS = 65536


# One dataclass per client frame: its fields are the frame's fields; a field with a default is
# optional, and absent (or null) on the wire means the default.
@dataclass(frozen=True, kw_only=True)
class Login:
    type: ClassVar[str] = "login"
    username: str
    password: str


@dataclass(frozen=True, kw_only=True)
class Auth:
    type: ClassVar[str] = "auth"
    token: str


@dataclass(frozen=True, kw_only=True)
class Logout:
    type: ClassVar[str] = "logout"


@dataclass(frozen=True, kw_only=True)
class Ping:
    type: ClassVar[str] = "ping"


@dataclass(frozen=True, kw_only=True)
class Accepting:
    type: ClassVar[str] = "accepting"
    on: bool


@dataclass(frozen=True, kw_only=True)
class Claim:
    type: ClassVar[str] = "claim"
    chat: int


@dataclass(frozen=True, kw_only=True)
class View:
    type: ClassVar[str] = "view"
    chat: int


@dataclass(frozen=True, kw_only=True)
class Send:
    type: ClassVar[str] = "send"
    chat: int
    text: str
    id: str | None = None


@dataclass(frozen=True, kw_only=True)
class Typing:
    type: ClassVar[str] = "typing"
    chat: int
    on: bool


@dataclass(frozen=True, kw_only=True)
class Assist:
    type: ClassVar[str] = "assist"
    chat: int
    query: str | None = None


@dataclass(frozen=True, kw_only=True)
class Transfer:
    """To a queue or to an agent: exactly one of the two."""

    type: ClassVar[str] = "transfer"
    chat: int
    queue: str | None = None
    agent: str | None = None
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class Handback:
    type: ClassVar[str] = "handback"
    chat: int
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class Resolve:
    type: ClassVar[str] = "resolve"
    chat: int
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class Canned:
    type: ClassVar[str] = "canned"


@dataclass(frozen=True, kw_only=True)
class Tickets:
    type: ClassVar[str] = "tickets"
    status: str | None = None


@dataclass(frozen=True, kw_only=True)
class TicketReply:
    type: ClassVar[str] = "ticket_reply"
    ticket: int
    text: str


@dataclass(frozen=True, kw_only=True)
class Overview:
    type: ClassVar[str] = "overview"


@dataclass(frozen=True, kw_only=True)
class Note:
    type: ClassVar[str] = "note"
    chat: int
    text: str


@dataclass(frozen=True, kw_only=True)
class Search:
    type: ClassVar[str] = "search"
    query: str


AgentFrame = (Login | Auth | Logout | Ping | Accepting | Claim | View | Send | Typing | Assist
              | Transfer | Handback | Resolve | Canned | Tickets | TicketReply | Overview | Note
              | Search)
CLIENT_FRAMES: dict[str, type[AgentFrame]] = {cls.type: cls for cls in typing.get_args(AgentFrame)}
# Longest accepted value per string field (text, note and query: the text limit).
MAX_CHARS = {"username": 64, "password": 1024, "token": 128, "queue": 128, "agent": 64,
             "status": 16, "id": 64}
# Integers (chat and ticket numbers) stay below 2**53, the largest a JavaScript number holds.
MAX_INT = 2**53 - 1


@dataclass
class AgentProtocolError(Exception):
    code: str
    message: str
    field: str | None = None

    def frame(self) -> Error:
        return Error(code=self.code, message=self.message, field=self.field or None)


def _checked_text(text: str, max_chars: int, field: str) -> str:
    text = clean_text(text)
    if not text:
        raise AgentProtocolError("empty", "Text is empty.", field)
    if len(text) > max_chars:
        raise AgentProtocolError("too_long", f"Text is longer than {max_chars} characters.", field)
    return text


def _fields_of(cls: type[AgentFrame]) -> dict[str, tuple[type, bool]]:
    """Each field's wire type (bool, int or str) and whether it is required, from the class."""
    hints = typing.get_type_hints(cls)
    return {f.name: (next(t for t in (typing.get_args(hints[f.name]) or (hints[f.name],))
                          if t is not type(None)), f.default is MISSING)
            for f in fields(cls)}


_FIELDS = {kind: _fields_of(cls) for kind, cls in CLIENT_FRAMES.items()}


def parse(raw: str | bytes, max_text_chars: int = 2000) -> AgentFrame:
    if isinstance(raw, bytes):
        raise AgentProtocolError("binary_frame", "Binary frames are not accepted.")
    if len(raw) > MAX_FRAME_CHARS:
        raise AgentProtocolError("frame_too_large", "Frame is too large.")
    try:
        frame = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested thousands of levels deep
        raise AgentProtocolError("bad_json", "The frame is not JSON.") from None
    if not isinstance(frame, dict):
        raise AgentProtocolError("bad_json", "The frame is not a JSON object.")
    kind = frame.get("type")
    if not isinstance(kind, str) or kind not in CLIENT_FRAMES:
        shown = kind[:40] if isinstance(kind, str) else None
        raise AgentProtocolError("unknown_type", f"Unknown frame type {shown!r}.", "type")
    values = _values(frame, _FIELDS[kind], max_text_chars)
    if kind == "transfer" and ("queue" in values) == ("agent" in values):
        raise AgentProtocolError("bad_field", "Give exactly one of 'queue' or 'agent'.", "queue")
    return CLIENT_FRAMES[kind](**values)


def _values(frame: dict[str, Any], spec: dict[str, tuple[type, bool]],
            max_text_chars: int) -> dict[str, Any]:
    """The frame's fields, checked; a blank note or query is left out (the default)."""
    out: dict[str, Any] = {}
    for name, (typ, required) in spec.items():
        value = frame.get(name)
        if value is None:
            if required:
                raise AgentProtocolError("bad_field", f"Field {name!r} is required.", name)
            continue
        # bool is an int subclass: a chat id of `true` must not pass as 1.
        if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
            raise AgentProtocolError("bad_field", f"Field {name!r} has the wrong type.", name)
        if isinstance(value, int) and not 0 <= value <= MAX_INT:
            raise AgentProtocolError("bad_field", f"Field {name!r} is out of range.", name)
        if isinstance(value, str):
            if len(value) > MAX_CHARS.get(name, max_text_chars):
                raise AgentProtocolError("too_long", f"Field {name!r} is too long.", name)
            if has_lone_surrogate(value):
                raise AgentProtocolError("bad_field", f"Field {name!r} is not valid text.", name)
        out[name] = value
    for name in ("text", "note", "query"):
        if name in out:
            if name == "text" or out[name].strip():
                out[name] = _checked_text(out[name], max_text_chars, name)
            else:
                del out[name]
    return out
