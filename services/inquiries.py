"""The personal look-ups' inquiries as recorded: which record was asked for (its number masked),
whether the identity check matched, and for an assisted look-up (a family member or friend
acting for the applicant) the relationship and the helper's name, as a booking records them.
Nothing of the identity itself is kept; the rows go with the conversation (storage/retention.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from services.appointments import Assisted
from services.documents import mask
from services.records import Kind
from storage.database import Database

Outcome = Literal["matched", "not_matched", "locked"]


class Inquiry(BaseModel):
    model_config = ConfigDict(frozen=True)
    session: str
    kind: Kind
    number_masked: str
    outcome: Outcome
    assisted: Assisted | None = None
    ts: float


class Inquiries:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, session: str, kind: Kind, number: str, outcome: Outcome,
               assisted: Assisted | None, now: float) -> None:
        self.db.execute(
            "INSERT INTO service_inquiries (session_id, kind, number_masked, outcome, relationship,"
            " helper_name, ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (session, kind, mask(number, 3), outcome,
             assisted.relationship if assisted else None,
             assisted.helper_name if assisted else None, now))

    def of_session(self, session: str) -> list[Inquiry]:
        rows = self.db.rows("SELECT * FROM service_inquiries WHERE session_id = ? ORDER BY id",
                            (session,))
        return [Inquiry(session=r["session_id"], kind=r["kind"], number_masked=r["number_masked"],
                        outcome=r["outcome"], ts=r["ts"],
                        assisted=Assisted(relationship=r["relationship"], helper_name=r["helper_name"])
                        if r["relationship"] else None) for r in rows]
