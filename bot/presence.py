"""Whether a visitor is online, over every node of one PostgreSQL database.

A node knows its own sockets (the hub's). With several nodes, a queued visitor connected to node
A would look gone to node B, whose grace timer would then drop them from the queue. So each node
records, per conversation, that it holds a socket (storage/presence.py), and asks the database
before it takes a visitor for gone. The node id and liveness are the shared limits' (the same
heartbeat, bot/shared_limits.py).

If the database cannot be reached the visitor counts as online: dropping a waiting visitor on a
guess is worse than keeping a ghost a little longer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot.shared_limits import LIVE_S
from storage.database import StorageError
from storage.presence import Presence

log = logging.getLogger(__name__)


class SharedPresence:
    def __init__(self, presence: Presence, node: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.presence = presence
        self.node = node
        self.clock = clock

    def arrived(self, session_id: str) -> None:
        try:
            self.presence.arrive(self.node, session_id)
        except StorageError:
            log.warning("presence not recorded", extra={"session": session_id}, exc_info=True)

    def left(self, session_id: str) -> None:
        try:
            self.presence.leave(self.node, session_id)
        except StorageError:  # the row goes with this node's when it stops or dies
            log.warning("presence not cleared", extra={"session": session_id}, exc_info=True)

    def elsewhere(self, session_id: str) -> bool:
        """Whether another live node holds a socket of the conversation."""
        try:
            return self.presence.elsewhere(self.node, session_id, self.clock() - LIVE_S)
        except StorageError:
            log.warning("presence unknown: counted as online", exc_info=True)
            return True
