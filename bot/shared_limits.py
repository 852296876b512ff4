"""Per-IP limits that hold across the nodes of one PostgreSQL database.

A node's own `IpLimits` counts its sockets and meters each IP's frames. With several nodes, an
address could otherwise get one allowance per node (nginx may spread its sockets, and a node
that dies sends its clients to the others). So, on PostgreSQL:

* opening a socket or having a QR code drawn takes a token from the address's bucket in the
  database (storage/client_limits.py), which every node draws on;
* the sockets an address may hold are counted over every live node;
* frames of an address that has sockets on more than one node are metered by the shared bucket
  too; frames of an address on one node only (nearly all) stay in memory, so the database sees
  no write per message.

If the database cannot be reached the node falls back on its own counts: a limit that is only
per node for a while beats refusing every visitor.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable

from runtime.ratelimit import IpLimits
from storage.client_limits import ClientLimits
from storage.database import StorageError

log = logging.getLogger(__name__)

BEAT_S = 2.0  # how often a node says it is alive and learns which addresses are spread
LIVE_S = 10.0  # a node silent for this long is dead: its sockets stop counting


class SharedIpLimits(IpLimits):
    def __init__(self, rate: float, burst: int, max_connections: int, shared: ClientLimits,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(rate, burst, max_connections)
        self.shared = shared
        self.node = uuid.uuid4().hex
        self.clock = clock
        self.spread: set[str] = set()

    def connections_of(self, ip: str) -> int:
        try:
            return self.shared.sockets(ip, self.clock() - LIVE_S)
        except StorageError:
            log.warning("shared limits unavailable: counting this node's sockets", exc_info=True)
            return super().connections_of(ip)

    def take_opening(self, ip: str, now: float) -> float:
        local = super().take(ip, now)
        return max(local, self._take_shared(ip, local))

    def take(self, ip: str, now: float) -> float:
        local = super().take(ip, now)
        return max(local, self._take_shared(ip, local)) if ip in self.spread else local

    def _take_shared(self, ip: str, fallback: float) -> float:
        try:
            return self.shared.take(ip, self.rate, self.burst, self.clock())
        except StorageError:
            log.warning("shared limits unavailable: metering on this node", exc_info=True)
            return fallback

    def connect(self, ip: str) -> bool:
        self._add_socket(ip, 1)
        return super().connect(ip)

    def disconnect(self, ip: str, now: float | None = None) -> None:
        self._add_socket(ip, -1)
        super().disconnect(ip, now)

    def _add_socket(self, ip: str, change: int) -> None:
        try:
            self.shared.add_socket(self.node, ip, change)
        except StorageError:
            log.warning("shared limits unavailable: socket not counted", exc_info=True)

    def beat(self) -> None:
        """Say this node is alive, learn which addresses are on several nodes, forget the dead."""
        now = self.clock()
        self.shared.heartbeat(self.node, now)
        self.spread = self.shared.spread(now - LIVE_S)
        self.shared.expire(dead_before=now - 6 * LIVE_S, idle_before=now - self.burst / self.rate)

    async def keep_beating(self) -> None:
        while True:
            try:
                self.beat()
            except StorageError:
                log.warning("shared limits: heartbeat failed", exc_info=True)
            await asyncio.sleep(BEAT_S)

    def close(self) -> None:
        """Leave (this node's sockets stop counting) and close the connection."""
        try:
            self.shared.leave(self.node)
        except StorageError:
            log.warning("shared limits: could not leave", exc_info=True)
        self.shared.db.close()
