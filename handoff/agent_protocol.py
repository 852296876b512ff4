"""Sans-I/O validation of agent websocket frames (docs/protocol.md, "Agent protocol").

``parse(raw)`` turns one text frame into a dict whose fields have the documented types, or
raises ``AgentProtocolError`` with a code the console can show.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

MAX_FRAME_CHARS = 65536
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# type -> {field: (python type, required)}
FRAMES: dict[str, dict[str, tuple[type | tuple[type, ...], bool]]] = {
    "login": {"username": (str, True), "password": (str, True)},
    "auth": {"token": (str, True)},
    "logout": {},
    "ping": {},
    "accepting": {"on": (bool, True)},
    "claim": {"chat": (int, True)},
    "view": {"chat": (int, True)},
    "send": {"chat": (int, True), "text": (str, True), "id": (str, False)},
    "typing": {"chat": (int, True), "on": (bool, True)},
    "assist": {"chat": (int, True), "query": (str, False)},
    "transfer": {"chat": (int, True), "queue": (str, False), "agent": (str, False), "note": (str, False)},
    "handback": {"chat": (int, True), "note": (str, False)},
    "resolve": {"chat": (int, True), "note": (str, False)},
    "canned": {},
    "tickets": {"status": (str, False)},
    "ticket_reply": {"ticket": (int, True), "text": (str, True)},
    "overview": {},
    "note": {"chat": (int, True), "text": (str, True)},
    "search": {"query": (str, True)},
}
PRE_AUTH = {"login", "auth", "ping"}
# Longest accepted value per string field (text, note and query: the text limit).
MAX_CHARS = {"username": 64, "password": 1024, "token": 128, "queue": 128, "agent": 64,
             "status": 16, "id": 64}
# Integers (chat and ticket numbers) stay below 2**53, the largest a JavaScript number holds.
MAX_INT = 2**53 - 1
_SURROGATE = re.compile(r"[\ud800-\udfff]")


@dataclass
class AgentProtocolError(Exception):
    code: str
    message: str
    field: str | None = None

    def frame(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "error", "code": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


def clean_text(text: str, max_chars: int, field: str = "text") -> str:
    text = _CONTROL.sub("", text).strip()
    if not text:
        raise AgentProtocolError("empty", "Text is empty.", field)
    if len(text) > max_chars:
        raise AgentProtocolError("too_long", f"Text is longer than {max_chars} characters.", field)
    return text


def parse(raw: str | bytes, max_text_chars: int = 2000) -> dict[str, Any]:
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
    if not isinstance(kind, str) or kind not in FRAMES:
        shown = kind[:40] if isinstance(kind, str) else None
        raise AgentProtocolError("unknown_type", f"Unknown frame type {shown!r}.", "type")
    out: dict[str, Any] = {"type": kind}
    for name, (typ, required) in FRAMES[kind].items():
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
            if _SURROGATE.search(value):
                raise AgentProtocolError("bad_field", f"Field {name!r} is not valid text.", name)
        out[name] = value
    for name in ("text", "note", "query"):
        if name in out:
            if name == "text" or out[name].strip():
                out[name] = clean_text(out[name], max_text_chars, name)
            else:
                del out[name]
    if kind == "transfer" and ("queue" in out) == ("agent" in out):
        raise AgentProtocolError("bad_field", "Give exactly one of 'queue' or 'agent'.", "queue")
    return out
