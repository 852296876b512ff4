"""Per-client limits shared by every node on one database: a token bucket per client address,
and how many sockets each live node holds per address.

A bucket is one row, refilled and drawn on by one upsert that holds the row's lock while it
runs, so two nodes taking at once are ordered. Only live nodes' sockets count (storage/nodes.py):
a node beats on its own connection, which the heartbeat names as the node's session.
"""

from __future__ import annotations

from runtime.ratelimit import TokenBucket
from storage.database import Database
from storage.nodes import alive

# The bucket's tokens refilled since its last take, at most its burst (``?``: rate, burst, burst,
# rate), in SQL both backends read alike.
_REFILL = ("CASE WHEN client_buckets.tokens + (excluded.updated - client_buckets.updated) * ? > ?"
           " THEN ? ELSE client_buckets.tokens + (excluded.updated - client_buckets.updated) * ?"
           " END")
# A new address's bucket starts full, less the token taken; a known one is refilled, less one,
# only when that leaves it a token: otherwise no row is returned (and none changed).
TAKE = ("INSERT INTO client_buckets (ip, tokens, updated) VALUES (?, ?, ?) ON CONFLICT (ip)"
        f" DO UPDATE SET tokens = {_REFILL} - 1, updated = excluded.updated"
        f" WHERE {_REFILL} >= 1 RETURNING tokens")
# A refused take that finds the bucket refilled meanwhile (another node's clock ahead) tries again.
TAKE_ATTEMPTS = 3


class ClientLimits:
    def __init__(self, db: Database) -> None:
        self.db = db

    def take(self, ip: str, rate: float, burst: int, now: float) -> float:
        """Take one token from the address's bucket: 0 when allowed, else seconds to wait.

        One statement when allowed (a visitor's every message may take one): the upsert refills
        and takes under the row's lock, and changes nothing when the bucket is short of a token.
        A bucket left as it was refills from the same point, so the wait is read afterwards."""
        for _ in range(TAKE_ATTEMPTS):
            if self.db.row(TAKE, (ip, float(burst) - 1, now, rate, float(burst), float(burst),
                                  rate, rate, float(burst), float(burst), rate)) is not None:
                return 0.0
            row = self.db.row("SELECT tokens, updated FROM client_buckets WHERE ip = ?", (ip,))
            if row is None:  # forgotten (expired) in between: take again
                continue
            bucket = TokenBucket(rate, burst)
            bucket.tokens, bucket.updated = float(row["tokens"]), float(row["updated"])
            wait = bucket.take(now)
            if wait > 0:
                return wait
        return 1 / rate  # refilled and drained by others each time: as short a wait as a token

    def sockets(self, ip: str, live_since: float) -> int:
        """The address's sockets on every live node."""
        return int(self.db.value(
            "SELECT coalesce(sum(s.sockets), 0) FROM client_sockets s JOIN nodes n"
            f" ON n.node = s.node WHERE s.ip = ? AND {alive(self.db.dialect)}", (ip, live_since)))

    def add_socket(self, node: str, ip: str, change: int) -> None:
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO client_sockets (node, ip, sockets) VALUES (?, ?, ?) ON CONFLICT"
                " (node, ip) DO UPDATE SET sockets = client_sockets.sockets + excluded.sockets",
                (node, ip, change))
            self.db.execute("DELETE FROM client_sockets WHERE node = ? AND ip = ? AND sockets <= 0",
                            (node, ip))

    def spread(self, live_since: float) -> set[str]:
        """Addresses with sockets on more than one live node."""
        return {row["ip"] for row in self.db.rows(
            "SELECT s.ip FROM client_sockets s JOIN nodes n ON n.node = s.node"
            f" WHERE {alive(self.db.dialect)} GROUP BY s.ip HAVING count(*) > 1", (live_since,))}

    def heartbeat(self, node: str, now: float) -> None:
        """The node is alive, on this connection's session (new after a reconnect)."""
        with self.db.transaction():
            session = self.db.dialect.own_session
            self.db.execute(
                f"INSERT INTO nodes (node, seen_at, session) VALUES (?, ?, {session})"
                " ON CONFLICT (node) DO UPDATE SET seen_at = excluded.seen_at,"
                " session = excluded.session", (node, now))

    def leave(self, node: str) -> None:
        """The node stops: its sockets, per address and per conversation, stop counting."""
        with self.db.transaction():
            self.db.execute("DELETE FROM client_sockets WHERE node = ?", (node,))
            self.db.execute("DELETE FROM visitor_sockets WHERE node = ?", (node,))
            self.db.execute("DELETE FROM agent_consoles WHERE node = ?", (node,))
            self.db.execute("DELETE FROM nodes WHERE node = ?", (node,))

    def expire(self, dead_before: float, idle_before: float) -> None:
        """Forget dead nodes and their sockets, and buckets not drawn on since ``idle_before``
        (full again by then: the caller passes now - burst / rate)."""
        with self.db.transaction():
            # storage/presence.py's and storage/consoles.py's too
            for table in ("client_sockets", "visitor_sockets", "agent_consoles"):
                self.db.execute(f"DELETE FROM {table} WHERE node IN"
                                " (SELECT node FROM nodes WHERE seen_at < ?)", (dead_before,))
            self.db.execute("DELETE FROM nodes WHERE seen_at < ?", (dead_before,))
            self.db.execute("DELETE FROM client_buckets WHERE updated < ?", (idle_before,))
