"""Appointments at exit-entry offices (services/booking_store.py).

A booking holds one seat of one slot: ``(office_id, day, slot, seat)`` is unique, so two
transactions that both counted a free seat cannot both take it, on SQLite or PostgreSQL alike
(a cancelled booking gives its seat back: ``seat`` becomes NULL, and NULLs never collide).
``starts_at`` (Unix time) lets the retention purge find the bookings whose day is long past."""

from __future__ import annotations

from storage.database import Database

TABLE = """CREATE TABLE appointments (
    reference TEXT PRIMARY KEY,
    office_id TEXT NOT NULL,
    service TEXT NOT NULL,
    day TEXT NOT NULL,            -- ISO date, China time
    slot TEXT NOT NULL,           -- HH:MM
    seat INTEGER,                 -- 1..seats while booked, NULL once cancelled
    status TEXT NOT NULL,         -- booked | cancelled
    applicant_name TEXT NOT NULL,
    passport TEXT NOT NULL,
    relationship TEXT,            -- an assisted application: who the applicant is to the helper
    helper_name TEXT,
    starts_at REAL NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    purged_at REAL
)"""


def apply(db: Database) -> None:
    db.execute(db.dialect.ddl(TABLE))
    db.execute("CREATE UNIQUE INDEX appointments_seat ON appointments(office_id, day, slot, seat)")
    db.execute("CREATE INDEX appointments_starts ON appointments(starts_at)")
