"""Which node holds a socket of which conversation, so that every node knows whether a queued
visitor is still there (one may be connected to another node). A node's rows count while its
heartbeat in ``nodes`` (0006) is fresh."""

from __future__ import annotations

from storage.database import Database

TABLES = (
    """CREATE TABLE visitor_sockets (
        node TEXT NOT NULL,
        session_id TEXT NOT NULL,
        PRIMARY KEY (node, session_id)
    )""",
    "CREATE INDEX visitor_sockets_session ON visitor_sockets (session_id)",
)


def apply(db: Database) -> None:
    for statement in TABLES:
        db.execute(db.dialect.ddl(statement))
