"""Which nodes sharing one database are alive: the condition every query over the nodes' rows
(sockets per address, visitors' and agents' presence) puts on a node.

A node is alive while its heartbeat (``nodes.seen_at``, written by storage/client_limits.py) is
fresh and, on PostgreSQL, the database session it beats on is open. A node killed with SIGKILL
beats no more, but its heartbeat counts as fresh for a while yet (10 s, bot/shared_limits.py); its session, though,
ends at once: the kernel closes the dead process's socket and PostgreSQL ends the backend. So
its visitors and agents stop counting the moment it dies. The heartbeat remains the test for a
node that hangs without dying (its session stays open). One process on SQLite is the only node.
"""

from __future__ import annotations

from storage.database import Dialect


def alive(dialect: Dialect, node: str = "n") -> str:
    """The condition on the ``nodes`` row aliased ``node``, with one parameter: the oldest
    heartbeat that still counts."""
    return f"{node}.seen_at >= ? AND {dialect.session_open(f'{node}.session')}"
