"""Per-client limits that hold across nodes: the token bucket each client address draws on when
it opens a socket (or has a QR code drawn), the sockets each node holds per address, and each
node's heartbeat, so the sockets of a node that died stop counting."""

from __future__ import annotations

from storage.database import Database

TABLES = (
    """CREATE TABLE client_buckets (
        ip TEXT PRIMARY KEY,
        tokens REAL NOT NULL,
        updated REAL NOT NULL
    )""",
    """CREATE TABLE client_sockets (
        node TEXT NOT NULL,
        ip TEXT NOT NULL,
        sockets INTEGER NOT NULL,
        PRIMARY KEY (node, ip)
    )""",
    "CREATE INDEX client_sockets_ip ON client_sockets (ip)",
    """CREATE TABLE nodes (
        node TEXT PRIMARY KEY,
        seen_at REAL NOT NULL
    )""",
)


def apply(db: Database) -> None:
    for statement in TABLES:
        db.execute(db.dialect.ddl(statement))
