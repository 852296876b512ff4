"""Typed frames out: the base of every frame the server sends, and the frames both websocket
protocols share.

A frame is a frozen dataclass whose class names its wire ``type``; ``to_wire()`` gives the JSON
object that is sent, and ``from_wire()`` reads such an object back (a stored event). Fields are
written in their declared order, under their own name or the wire name given with ``renamed``
(``from`` is a Python keyword); an ``optional()`` field is left out while it is None, as frames
that carry it only sometimes do. Nested payloads (a reply's sources, a chat card) are plain JSON
values and go out as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Self

_WIRE_NAME = "wire_name"
_OMIT_NONE = "omit_none"


def renamed(wire_name: str) -> Any:
    """A field written under another name on the wire."""
    return field(metadata={_WIRE_NAME: wire_name})


def optional(*, wire_name: str | None = None) -> Any:
    """A field left out of the wire form while it is None."""
    metadata: dict[str, Any] = {_OMIT_NONE: True}
    if wire_name is not None:
        metadata[_WIRE_NAME] = wire_name
    return field(default=None, metadata=metadata)


@dataclass(frozen=True, kw_only=True)
class Frame:
    type: ClassVar[str]

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.metadata.get(_OMIT_NONE):
                continue
            out[f.metadata.get(_WIRE_NAME, f.name)] = value
        return out

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Self:
        """The frame whose ``to_wire()`` gave ``wire`` (keys it has no field for are ignored; a
        missing required one raises TypeError)."""
        named = {f.metadata.get(_WIRE_NAME, f.name): f.name for f in fields(cls)}
        return cls(**{name: wire[key] for key, name in named.items() if key in wire})


@dataclass(frozen=True, kw_only=True)
class Error(Frame):
    """A refused frame, on either socket; the connection stays open. The optional fields are in
    the order both protocols have always written them."""

    type: ClassVar[str] = "error"
    code: str
    message: str
    field: str | None = optional()  # the client field that is wrong
    retry_after: float | None = optional()  # rate_limited, locked, busy: seconds to wait
    id: str | None = optional()  # the visitor message the error is about
    limit: int | None = optional()  # too_long: the longest text accepted


@dataclass(frozen=True, kw_only=True)
class Pong(Frame):
    type: ClassVar[str] = "pong"

