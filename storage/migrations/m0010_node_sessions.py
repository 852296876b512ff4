"""Each node's database session next to its heartbeat (``nodes``, 0006): on PostgreSQL a node
whose process died stops counting the moment the server has closed its session, not once its
heartbeat is stale (storage/nodes.py)."""

from __future__ import annotations

from storage.database import Database


def apply(db: Database) -> None:
    db.execute("ALTER TABLE nodes ADD COLUMN session TEXT")
