"""Which node holds a console of which agent, and whether the agent takes chats, so that any
node can give a waiting chat to an agent connected to another (the auto-assignment). A node's
rows count while its heartbeat in ``nodes`` (0006) is fresh."""

from __future__ import annotations

from storage.database import Database

TABLES = (
    """CREATE TABLE agent_consoles (
        node TEXT NOT NULL,
        username TEXT NOT NULL,
        accepting INTEGER NOT NULL DEFAULT 0,
        last_assigned REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (node, username)
    )""",
    "CREATE INDEX agent_consoles_username ON agent_consoles (username)",
)


def apply(db: Database) -> None:
    for statement in TABLES:
        db.execute(db.dialect.ddl(statement))
