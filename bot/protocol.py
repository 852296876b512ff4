"""Visitor protocol v1, without I/O: client frames in, typed messages or a ProtocolError out.

docs/protocol.md is the reference; the names here follow it one to one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from runtime.frames import Error
from runtime.text_cleaning import clean_text, has_lone_surrogate

LANGS = ("zh", "en")
PAGE_SCRIPTS = ("zh-Hans", "zh-Hant", "yue")
CHANNELS = ("web", "mobile")
# seq numbers and other integers stay below 2**53 (the largest a JavaScript number holds exactly,
# and far below SQLite's 2**63).
MAX_INT = 2**53 - 1
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")


class ProtocolError(Exception):
    """A recoverable error: reported to the client, the connection stays open."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra

    def frame(self) -> Error:
        return Error(code=self.code, message=self.message, **self.extra)


@dataclass(frozen=True)
class Hello:
    session: str | None
    lang: str | None  # the visitor's explicit choice: locks the reply language
    page_lang: str | None  # the page's language: where a new chat starts, not a lock
    last_seq: int
    channel: str
    transfer: str | None
    page_script: str | None = None  # the page's Chinese script: the greeting's, not a lock


@dataclass(frozen=True)
class Message:
    id: str
    text: str


@dataclass(frozen=True)
class Lang:
    lang: str | None


@dataclass(frozen=True)
class Feedback:
    seq: int
    value: Literal["up", "down"]


@dataclass(frozen=True)
class Rating:
    score: int
    comment: str | None


@dataclass(frozen=True)
class Close:
    pass


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class TransferRequest:
    pass


@dataclass(frozen=True)
class Typing:
    on: bool


ClientMessage = Hello | Message | Lang | Feedback | Rating | Close | Ping | TransferRequest | Typing


class _Fields:
    """Typed access to one frame's fields, raising bad_field with the field's name."""

    def __init__(self, frame: dict) -> None:
        self.frame = frame

    def get(self, name: str, kind: type | tuple[type, ...], *, optional: bool = False,
            default: Any = None) -> Any:
        if name not in self.frame or (optional and self.frame[name] is None):
            if optional:
                return default
            raise ProtocolError("bad_field", f"Field '{name}' is required.", field=name)
        value = self.frame[name]
        # bool is an int in Python; a JSON true must not pass as a number.
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _tuple(kind)):
            raise ProtocolError("bad_field", f"Field '{name}' has the wrong type.", field=name)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise ProtocolError("bad_field", f"Field '{name}' is out of range.", field=name)
        if isinstance(value, str) and name not in ("text", "comment") and len(value) > 256:
            raise ProtocolError("bad_field", f"Field '{name}' is too long.", field=name)
        if isinstance(value, str) and has_lone_surrogate(value):
            raise ProtocolError("bad_field", f"Field '{name}' is not valid text.", field=name)
        return value

    def choice(self, name: str, allowed: tuple, *, optional: bool = False,
               default: Any = None) -> Any:
        value = self.get(name, str, optional=optional, default=default)
        if value is not None and value not in allowed:
            raise ProtocolError("bad_field", f"Field '{name}' must be one of {list(allowed)}.",
                                field=name)
        return value


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _hello(f: _Fields, limits: Limits) -> Hello:
    last_seq = f.get("last_seq", int, optional=True, default=0)
    if last_seq < 0:
        raise ProtocolError("bad_field", "Field 'last_seq' must be >= 0.", field="last_seq")
    return Hello(
        session=f.get("session", str, optional=True),
        lang=f.choice("lang", LANGS, optional=True),
        page_lang=f.choice("page_lang", LANGS, optional=True),
        page_script=f.choice("page_script", PAGE_SCRIPTS, optional=True),
        last_seq=last_seq,
        channel=f.choice("channel", CHANNELS, optional=True, default="web"),
        transfer=f.get("transfer", str, optional=True),
    )


def _message(f: _Fields, limits: Limits) -> Message:
    client_id = f.get("id", str)
    if not _CLIENT_ID.match(client_id):
        raise ProtocolError("bad_field", "Field 'id' must be 1-64 letters, digits or ._:-",
                            field="id")
    raw = f.get("text", str)
    if len(raw) > limits.max_text_chars:
        raise ProtocolError("too_long", f"Text is longer than {limits.max_text_chars} characters.",
                            id=client_id, limit=limits.max_text_chars)
    text = clean_text(raw)
    if not text:
        raise ProtocolError("empty", "The message is empty.", id=client_id)
    return Message(id=client_id, text=text)


def _feedback(f: _Fields, limits: Limits) -> Feedback:
    return Feedback(seq=f.get("seq", int), value=f.choice("value", ("up", "down")))


def _rating(f: _Fields, limits: Limits) -> Rating:
    score = f.get("score", int)
    if not 1 <= score <= 5:
        raise ProtocolError("bad_field", "Field 'score' must be 1 to 5.", field="score")
    comment = f.get("comment", str, optional=True)
    if comment is not None:
        comment = clean_text(comment)[: limits.max_text_chars] or None
    return Rating(score=score, comment=comment)


_PARSERS: dict[str, Callable[[_Fields, Limits], ClientMessage]] = {
    "hello": _hello,
    "message": _message,
    "lang": lambda f, _: Lang(lang=f.choice("lang", LANGS, optional=True)),
    "feedback": _feedback,
    "rating": _rating,
    "close": lambda f, _: Close(),
    "ping": lambda f, _: Ping(),
    "transfer_request": lambda f, _: TransferRequest(),
    "typing": lambda f, _: Typing(on=f.get("on", bool, optional=True, default=True)),
}


@dataclass(frozen=True)
class Limits:
    max_text_chars: int = 2000


def parse_frame(data: str | bytes, limits: Limits = Limits()) -> ClientMessage:
    """Validate one websocket frame; raise ProtocolError saying what is wrong."""
    if isinstance(data, bytes):
        raise ProtocolError("binary_frame", "Binary frames are not supported; send JSON text.")
    try:
        frame = json.loads(data)
    except (ValueError, RecursionError):
        raise ProtocolError("bad_json", "The frame is not valid JSON.") from None
    if not isinstance(frame, dict):
        raise ProtocolError("bad_json", "The frame must be a JSON object.")
    kind = frame.get("type")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        shown = kind if isinstance(kind, str) else None
        raise ProtocolError("unknown_type", f"Unknown message type: {shown!r}.")
    return parser(_Fields(frame), limits)


def dumps(frame: dict) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
