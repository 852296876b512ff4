"""The service guides' download links (services/guide_links.py): a link per conversation and
guide, with its expiry, as the passport e-document's. The PDF is drawn from the corpus when the
link is opened, so only the link is stored; it goes with the conversation (storage/retention.py).

And the personal look-ups' inquiries (services/inquiries.py): which record was asked for
(masked), whether the check matched, and for an assisted look-up the relationship and the
helper's name; they go with the conversation, or after the retention whatever it."""

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
INQUIRIES = """CREATE TABLE service_inquiries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    number_masked TEXT NOT NULL,
    outcome TEXT NOT NULL,          -- matched | not_matched | locked
    relationship TEXT,              -- an assisted look-up: mother, father, child, spouse, friend
    helper_name TEXT,
    ts REAL NOT NULL
)"""
INDEXES = (
    "CREATE INDEX service_guide_links_session ON service_guide_links(session_id)",
    "CREATE INDEX service_guide_links_expiry ON service_guide_links(expires_at)",
    "CREATE INDEX service_inquiries_session ON service_inquiries(session_id)",
    "CREATE INDEX service_inquiries_ts ON service_inquiries(ts)",
)


def apply(db: Database) -> None:
    db.execute(db.dialect.ddl(TABLE))
    db.execute(db.dialect.ddl(INQUIRIES))
    for statement in INDEXES:
        db.execute(statement)
