"""The agents' availability over every node of one PostgreSQL database.

A node knows its own consoles (``HandoffContext.conns``). With several nodes, an agent taking
chats on node B would be invisible to node A, whose visitors would wait although someone is free.
So each node records, per agent, that it holds a console and whether the agent takes chats
(storage/consoles.py), and reads every live node's rows when it plans the auto-assignment and
the queue positions. The node id and liveness are the shared limits' (the same heartbeat and
database session, storage/nodes.py), given by the server.

If the database cannot be reached a node counts its own consoles only: assignment and positions
go on per node for a while rather than stop; but no agent is taken for gone (their chats stay
theirs until the database can say).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from storage.consoles import AgentConsoles, ConsoleState
from storage.database import StorageError

log = logging.getLogger(__name__)


@dataclass
class SharedConsoles:
    consoles: AgentConsoles
    node: str
    live_s: float  # a node silent for this long is dead: its consoles stop counting
    clock: Callable[[], float] = field(default=time.time)

    def arrived(self, username: str, accepting: bool) -> None:
        self._write(lambda: self.consoles.arrive(self.node, username, accepting))

    def left(self, username: str) -> None:
        self._write(lambda: self.consoles.leave(self.node, username))

    def accepting(self, username: str, on: bool) -> None:
        self._write(lambda: self.consoles.set_accepting(self.node, username, on))

    def assigned(self, username: str, at: float) -> None:
        self._write(lambda: self.consoles.assigned(username, at))

    def elsewhere(self) -> dict[str, ConsoleState]:
        """Every agent with a console on another live node (none known when the database is
        away); this node's own are in memory."""
        try:
            return self.consoles.elsewhere(self.node, self.clock() - self.live_s)
        except StorageError:
            log.warning("agent consoles unknown: counting this node's", exc_info=True)
            return {}

    def gone(self, usernames: set[str]) -> set[str]:
        """Those of ``usernames`` with no console on another live node (an agent whose node died
        has none at once); none when the database cannot say: an agent's chats are not taken
        from them on a guess."""
        try:
            there = self.consoles.elsewhere(self.node, self.clock() - self.live_s)
        except StorageError:
            log.warning("agent consoles unknown: no agent taken for gone", exc_info=True)
            return set()
        return usernames - there.keys()

    def _write(self, write: Callable[[], None]) -> None:
        try:
            write()
        except StorageError:  # the rows go with this node's when it stops or dies
            log.warning("agent console not recorded", exc_info=True)
