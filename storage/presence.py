"""Which conversations have a socket open on which node, shared by the nodes of one database:
a visitor connected to node A is online for node B too. Rows of a node count while it is alive
(storage/nodes.py), so a killed node's visitors stop counting by themselves."""

from __future__ import annotations

from storage.database import Database
from storage.nodes import alive


class Presence:
    def __init__(self, db: Database) -> None:
        self.db = db

    def arrive(self, node: str, session_id: str) -> None:
        """The conversation's first socket on ``node`` opened."""
        self.db.execute("INSERT INTO visitor_sockets (node, session_id) VALUES (?, ?)"
                        " ON CONFLICT (node, session_id) DO NOTHING", (node, session_id))

    def leave(self, node: str, session_id: str) -> None:
        """The conversation's last socket on ``node`` closed."""
        self.db.execute("DELETE FROM visitor_sockets WHERE node = ? AND session_id = ?",
                        (node, session_id))

    def elsewhere(self, node: str, session_id: str, live_since: float) -> bool:
        """Whether a live node other than ``node`` holds a socket of the conversation."""
        return self.db.row(
            "SELECT 1 AS found FROM visitor_sockets v JOIN nodes n ON n.node = v.node"
            f" WHERE v.session_id = ? AND v.node <> ? AND {alive(self.db.dialect)}",
            (session_id, node, live_since)) is not None
