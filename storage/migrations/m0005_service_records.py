"""The online services' personal records (services/records.py): applications with their
history, visas and permits, permanent-resident ID cards, passports; the failed identity checks
and the waits they impose; the signed passport e-documents.

Independent of m0004 (appointments): only tables of its own, each created if missing, so it
applies whichever of the two a database received first."""

from __future__ import annotations

from storage.database import Database

TABLES = (
    """CREATE TABLE IF NOT EXISTS service_records (
    kind TEXT NOT NULL,             -- application | permit | pr_card | passport
    number TEXT NOT NULL,
    passport_no TEXT NOT NULL,      -- what the identity check compares
    birth_date TEXT NOT NULL,       -- ISO date
    holder TEXT NOT NULL,
    status TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (kind, number)
)""",
    """CREATE TABLE IF NOT EXISTS service_record_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    number TEXT NOT NULL,
    on_date TEXT NOT NULL,
    status TEXT NOT NULL
)""",
    # One row per failed check: scope is "session:<id>" or "ip:<hash of the address>".
    """CREATE TABLE IF NOT EXISTS service_lookup_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scope TEXT NOT NULL,
    ts REAL NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS service_lookup_locks (
    scope TEXT PRIMARY KEY,
    locked_until REAL NOT NULL
)""",
    # A document's registry entry outlives its conversation (the verify page reads it); the PDF
    # and its download link go with the conversation (storage/retention.py).
    """CREATE TABLE IF NOT EXISTS service_documents (
    code TEXT PRIMARY KEY,
    session_id TEXT,
    download_token TEXT UNIQUE,
    expires_at REAL,
    pdf TEXT,                       -- base64
    sha256 TEXT NOT NULL,
    signature TEXT NOT NULL,        -- Ed25519 over the PDF's bytes, base64
    summary TEXT NOT NULL,          -- JSON: what /verify/<code> shows, personal numbers masked
    issued_at REAL NOT NULL,
    revoked_at REAL
)""",
)
INDEXES = (
    "CREATE INDEX IF NOT EXISTS service_record_history_record"
    " ON service_record_history(kind, number)",
    "CREATE INDEX IF NOT EXISTS service_lookup_failures_scope ON service_lookup_failures(scope, ts)",
    "CREATE INDEX IF NOT EXISTS service_documents_session ON service_documents(session_id)",
)


def apply(db: Database) -> None:
    for statement in TABLES:
        db.execute(db.dialect.ddl(statement))
    for statement in INDEXES:
        db.execute(statement)
