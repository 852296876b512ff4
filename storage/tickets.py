"""Tickets: messages left for the agents, with the reference the visitor quotes.

References: T-<UTC date>-<4 symbols of Crockford's base32> (no I, L, O, U), e.g. T-20261206-7K3Q.
About a million per day, drawn at random, so a number cannot be guessed from another; short
enough to read out on the phone. Visitors may write it in any case, with or without dashes, and
O/I/L are read as 0/1/1.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from storage.database import Database, IntegrityError, Row

TICKET_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TICKET_REF_RE = re.compile(r"(?<![A-Za-z0-9])T\s*[-‐–—－]?\s*(\d{8})\s*[-‐–—－]?\s*([0-9A-Za-z]{4})(?![A-Za-z0-9])",
                           re.IGNORECASE)
DRAWS = 20


def new_ticket_ref(now: float) -> str:
    day = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d")
    return f"T-{day}-" + "".join(secrets.choice(TICKET_ALPHABET) for _ in range(4))


def normalise_ticket_ref(text: str) -> str:
    m = TICKET_REF_RE.search(text.strip())
    if not m:
        return text.strip().upper()
    code = m.group(2).upper().translate(str.maketrans("OIL", "011"))
    return f"T-{m.group(1)}-{code}"


def find_ticket_ref(text: str) -> str | None:
    """The ticket reference a visitor quoted in a message, normalised, or None."""
    return normalise_ticket_ref(text) if TICKET_REF_RE.search(text) else None


class Tickets:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, session_id: str, chat_id: int | None, queue_id: str, lang: str, text: str,
            now: float) -> int:
        for _ in range(DRAWS):
            try:
                with self.db.transaction():  # a savepoint inside a caller's transaction
                    found = self.db.value(
                        "INSERT INTO handoff_tickets (session_id, chat_id, queue_id, lang, text, created_at, ref)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                        (session_id, chat_id, queue_id, lang, text, now, new_ticket_ref(now)))
                return int(found)
            except IntegrityError:
                continue  # the same reference drawn twice on one day: draw again
        raise RuntimeError("could not draw a free ticket reference")

    def by_ref(self, ref: str) -> Row | None:
        return self.db.row("SELECT * FROM handoff_tickets WHERE ref = ?", (normalise_ticket_ref(ref),))

    def get(self, ticket_id: int) -> Row | None:
        return self.db.row("SELECT * FROM handoff_tickets WHERE id = ?", (ticket_id,))

    def all(self, status: str | None = "open") -> list[Row]:
        if status:
            return self.db.rows("SELECT * FROM handoff_tickets WHERE status = ? ORDER BY id", (status,))
        return self.db.rows("SELECT * FROM handoff_tickets ORDER BY id")

    def close(self, ticket_id: int, by: str, reply: str | None, now: float) -> bool:
        with self.db.transaction():
            return self.db.execute(
                "UPDATE handoff_tickets SET status = 'closed', closed_at = ?, closed_by = ?, reply = ?"
                " WHERE id = ? AND status = 'open'", (now, by, reply, ticket_id)) == 1
