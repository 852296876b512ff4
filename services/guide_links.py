"""Download links for a guide's checklist, as the passport e-document's: one secret link per
conversation and guide, living `CHAT_DOCUMENT_LINK_S`, purged with the conversation. The PDF
is drawn from the corpus when the link is opened (a guide holds nothing personal; the link is
the conversation's, so it is not shared for longer than the chat that asked for it)."""

from __future__ import annotations

import secrets

from pydantic import BaseModel, ConfigDict

from runtime.language import Script
from services.guide_pdf import GuidePdfs
from services.guides import Lang
from storage.database import Database


class GuideLink(BaseModel):
    model_config = ConfigDict(frozen=True)
    token: str
    guide_id: str
    expires_at: float


class GuideLinks:
    def __init__(self, db: Database, pdfs: GuidePdfs | None = None) -> None:
        self.db, self.pdfs = db, pdfs or GuidePdfs()

    def issue(self, guide_id: str, lang: Lang, script: Script, session: str, now: float,
              link_s: float) -> GuideLink:
        token = secrets.token_urlsafe(32)
        self.db.execute(
            "INSERT INTO service_guide_links (token, session_id, guide_id, lang, script, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)", (token, session, guide_id, lang, script, now + link_s))
        return GuideLink(token=token, guide_id=guide_id, expires_at=now + link_s)

    def download(self, token: str, now: float) -> tuple[str, bytes] | None:
        """The checklist behind a live link (its guide id and PDF); None for an unknown, expired
        or purged one."""
        row = self.db.row("SELECT guide_id, lang, script FROM service_guide_links WHERE token = ?"
                          " AND expires_at > ?", (token, now))
        if row is None:
            return None
        pdf = self.pdfs.get(row["guide_id"], row["lang"], row["script"])
        return None if pdf is None else (row["guide_id"], pdf)
