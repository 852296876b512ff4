"""Which agents have a console open on which node, shared by the nodes of one database: an
agent connected to node B is online, and takes chats, for node A too. Rows of a node count while
it is alive (storage/nodes.py), so a killed node's agents stop counting at once: no chat is
given to an agent whose console is gone with their node."""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import Database
from storage.nodes import alive


@dataclass(frozen=True)
class ConsoleState:
    """An agent over every live node: whether any console takes chats, and when the agent was
    last given one (by any node)."""

    accepting: bool
    last_assigned: float


class AgentConsoles:
    def __init__(self, db: Database) -> None:
        self.db = db

    def arrive(self, node: str, username: str, accepting: bool) -> None:
        """The agent's first console on ``node`` logged in."""
        self.db.execute(
            "INSERT INTO agent_consoles (node, username, accepting) VALUES (?, ?, ?)"
            " ON CONFLICT (node, username) DO UPDATE SET accepting = excluded.accepting",
            (node, username, int(accepting)))

    def leave(self, node: str, username: str) -> None:
        """The agent's last console on ``node`` closed."""
        self.db.execute("DELETE FROM agent_consoles WHERE node = ? AND username = ?",
                        (node, username))

    def set_accepting(self, node: str, username: str, accepting: bool) -> None:
        self.db.execute("UPDATE agent_consoles SET accepting = ? WHERE node = ? AND username = ?",
                        (int(accepting), node, username))

    def assigned(self, username: str, at: float) -> None:
        """The agent was given a chat (on whichever node their consoles are)."""
        self.db.execute("UPDATE agent_consoles SET last_assigned = ? WHERE username = ?",
                        (at, username))

    def elsewhere(self, node: str, live_since: float) -> dict[str, ConsoleState]:
        """Every agent with a console on a live node other than ``node``."""
        rows = self.db.rows(
            "SELECT c.username, max(c.accepting) AS accepting, max(c.last_assigned) AS last"
            " FROM agent_consoles c JOIN nodes n ON n.node = c.node WHERE c.node <> ?"
            f" AND {alive(self.db.dialect)} GROUP BY c.username", (node, live_since))
        return {r["username"]: ConsoleState(bool(r["accepting"]), float(r["last"])) for r in rows}
