"""The schema, as ordered migrations; the database records the last one applied (its schema
version: ``PRAGMA user_version`` in SQLite). Each migration runs in its own write transaction
and checks the version again inside it, so two processes starting at once (the server and
``python -m bot purge``) apply it once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from storage.database import Database, SchemaError
from storage.migrations import (
    m0001_initial,
    m0002_one_ratings_table,
    m0003_one_holder,
    m0004_appointments,
    m0005_service_records,
    m0006_client_limits,
    m0007_guides_inquiries,
    m0008_visitor_presence,
    m0009_agent_consoles,
    m0010_node_sessions,
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Database], None]


MIGRATIONS = (
    Migration(1, "initial", m0001_initial.apply),
    Migration(2, "one ratings table", m0002_one_ratings_table.apply),
    Migration(3, "one holder of a conversation", m0003_one_holder.apply),
    Migration(4, "appointments", m0004_appointments.apply),
    Migration(5, "service records", m0005_service_records.apply),
    Migration(6, "per-client limits shared by the nodes", m0006_client_limits.apply),
    Migration(7, "service guide links and look-up inquiries", m0007_guides_inquiries.apply),
    Migration(8, "which node holds which conversation's sockets", m0008_visitor_presence.apply),
    Migration(9, "which node holds which agent's consoles", m0009_agent_consoles.apply),
    Migration(10, "each node's database session", m0010_node_sessions.apply),
)
LATEST = MIGRATIONS[-1].version


def migrate(db: Database) -> int:
    """Apply the migrations the database lacks; its schema version afterwards."""
    if db.schema_version() > LATEST:
        raise SchemaError(f"the database's schema (version {db.schema_version()}) is newer than "
                          f"this code's (version {LATEST})")
    for migration in MIGRATIONS:
        if db.schema_version() >= migration.version:
            continue  # already applied: no need for the write lock
        with db.transaction():
            if db.schema_version() < migration.version:
                migration.apply(db)
                db.set_schema_version(migration.version)
    return db.schema_version()
