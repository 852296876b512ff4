"""Request bodies for the HTTP API, on the websockets server's own connections.

websockets (17.4, http11.Request.parse) reads only a request's head and refuses any request
with a body ("unsupported request body") before ``process_request`` runs: a websocket
handshake has none. The API's POST routes need one. `BodyReadingConnection` is the
``create_connection`` the server passes to ``serve``: it holds a request's bytes until the head
and the ``Content-Length`` bytes after it have arrived, keeps the body on the connection
(``body``), and hands websockets the head without its Content-Length, so the usual
``process_request`` (bot/http_edge.py) answers it with the body at hand. A handshake (no body)
passes straight through, and so does everything after the first request. The handshake's
``open_timeout`` still bounds a client that sends its body slowly.

Considered instead: serving ``/api`` from an ASGI server on another port (two ports, and the
existing ``/api/offices`` URL would move), or on the same port behind a protocol switch (a second
HTTP stack to secure and configure); this keeps one server, one port, one set of limits.
"""

from __future__ import annotations

import re
from typing import Any

from websockets.asyncio.server import ServerConnection

from bot.http_api import body_limit

MAX_HEAD = 64 * 1024  # beyond this websockets' own limits (8 KiB lines, 128 headers) refuse it
_LENGTH_LINE = re.compile(rb"\r\ncontent-length:[^\r\n]*", re.IGNORECASE)


class BodyReadingConnection(ServerConnection):
    """A server connection whose first request may carry a body (``Content-Length``; chunked
    bodies stay refused by websockets). ``body_error``: "too_large" (over its route's `body_limit`, not read)
    or "bad_length"; the edge answers those with 413 / 400."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.body: bytes | None = None
        self.body_error: str | None = None
        self._pending: bytearray | None = bytearray()  # None: past the first request's head

    def data_received(self, data: bytes) -> None:
        if self._pending is None:
            super().data_received(data)
            return
        self._pending += data
        end = self._pending.find(b"\r\n\r\n")
        if end < 0:
            if len(self._pending) > MAX_HEAD:
                self._pass(bytes(self._pending))
            return
        head, rest = bytes(self._pending[:end + 4]), bytes(self._pending[end + 4:])
        lengths = [line.split(b":", 1)[1].strip() for line in _LENGTH_LINE.findall(head)]
        if not lengths or lengths == [b"0"]:
            self._pass(bytes(self._pending))
            return
        if len(lengths) > 1 or not lengths[0].isdigit():
            self.body_error = "bad_length"
        elif int(lengths[0]) > body_limit(_target(head)):
            self.body_error = "too_large"
        elif len(rest) < int(lengths[0]):
            return  # more of the body to come
        else:
            self.body = rest[:int(lengths[0])]
        self._pass(_LENGTH_LINE.sub(b"", head))

    def _pass(self, data: bytes) -> None:
        """From now on websockets reads the stream (it answers one plain HTTP request per
        connection and closes it: nothing after this request is read as another)."""
        self._pending = None
        super().data_received(data)


def _target(head: bytes) -> str:
    """The request line's target ("POST /api/documents/verify HTTP/1.1" → the path)."""
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    return parts[1].decode("ascii", "replace") if len(parts) == 3 else ""
