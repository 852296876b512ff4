"""The service guides' download links (services/guide_links.py): a link per conversation and
guide, with its expiry, as the passport e-document's. The PDF is drawn from the corpus when the
link is opened, so only the link is stored; it goes with the conversation (storage/retention.py)."""

from __future__ import annotations

from storage.database import Database

TABLE = """CREATE TABLE service_guide_links (
    token TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    guide_id TEXT NOT NULL,
    lang TEXT NOT NULL,
    script TEXT NOT NULL,
    expires_at REAL NOT NULL
)"""
INDEXES = (
    "CREATE INDEX service_guide_links_session ON service_guide_links(session_id)",
    "CREATE INDEX service_guide_links_expiry ON service_guide_links(expires_at)",
)


def apply(db: Database) -> None:
    db.execute(db.dialect.ddl(TABLE))
    for statement in INDEXES:
        db.execute(statement)
