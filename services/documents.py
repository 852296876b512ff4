"""The passport e-documents: issued (rendered, signed, registered) after an identity check, a
download link per conversation that expires, and the verdict on a code or a file.

The registry keeps what the verify page shows (personal numbers masked), the PDF's SHA-256 and
its signature; the PDF itself and its link belong to the conversation and are purged with it."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict

from services.edocument_pdf import DocumentFace, render_pdf
from services.records import Record
from services.signing import sign_pdf, signature_holds, split_signed
from storage.database import Database

Status = Literal["genuine", "revoked", "tampered", "unknown"]


class Issued(BaseModel):
    model_config = ConfigDict(frozen=True)
    code: str
    token: str  # the download link's secret
    expires_at: float


class Verdict(BaseModel):
    """What the verify page says: genuine, revoked, tampered (the file differs from what was
    signed) or unknown (no such code), with the registered details where there are some."""

    model_config = ConfigDict(frozen=True)
    status: Status
    code: str
    summary: dict[str, str] = {}
    issued_at: float | None = None
    revoked_at: float | None = None


def mask(value: str, keep: int = 2) -> str:
    """"XB2468013" → "XB*****13": enough to tell one's own document, not to reuse it."""
    if len(value) <= 2 * keep:
        return "*" * len(value)
    return value[:keep] + "*" * (len(value) - 2 * keep) + value[-keep:]


def new_code() -> str:
    return base64.b32encode(secrets.token_bytes(10)).decode()  # 16 letters and digits


class Documents:
    def __init__(self, db: Database, key: Ed25519PrivateKey) -> None:
        self.db, self.key = db, key

    def issue(self, record: Record, session: str, verify_base: str, now: float,
              link_s: float) -> Issued:
        code = new_code()
        issued = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M")
        face = DocumentFace(record, code, issued, f"{verify_base}/verify/{code}")
        signed, signature = sign_pdf(render_pdf(face), self.key)
        token = secrets.token_urlsafe(32)
        summary = {"holder": record.holder, "pr_card": mask(record.number, 3),
                   "passport": mask(record.details.get("passport_number", "")),
                   "passport_valid_until": record.details.get("passport_valid_until", "")}
        self.db.execute(
            "INSERT INTO service_documents (code, session_id, download_token, expires_at, pdf,"
            " sha256, signature, summary, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (code, session, token, now + link_s, base64.b64encode(signed).decode(),
             hashlib.sha256(signed).hexdigest(), signature,
             json.dumps(summary, ensure_ascii=False), now))
        return Issued(code=code, token=token, expires_at=now + link_s)

    def download(self, token: str, now: float) -> bytes | None:
        """The signed PDF behind a live link; None for an unknown, expired or purged one."""
        row = self.db.row("SELECT pdf FROM service_documents WHERE download_token = ?"
                          " AND expires_at > ? AND pdf IS NOT NULL", (token, now))
        return None if row is None else base64.b64decode(row["pdf"])

    def revoke(self, code: str, now: float) -> bool:
        return self.db.execute("UPDATE service_documents SET revoked_at = ? WHERE code = ?"
                               " AND revoked_at IS NULL", (now, code)) > 0

    def verify_code(self, code: str) -> Verdict:
        row = self.db.row("SELECT * FROM service_documents WHERE code = ?", (code,))
        if row is None:
            return Verdict(status="unknown", code=code)
        return self._verdict(row, "revoked" if row["revoked_at"] else "genuine")

    def verify_file(self, signed: bytes) -> Verdict:
        """A PDF someone holds: genuine only if our key signed exactly these bytes and the
        registry has them under a code that is not revoked."""
        digest = hashlib.sha256(signed).hexdigest()
        row = self.db.row("SELECT * FROM service_documents WHERE sha256 = ?", (digest,))
        holds = signature_holds(signed, self.key.public_key())
        if row is None or not holds:
            return Verdict(status="tampered" if split_signed(signed) else "unknown",
                           code=row["code"] if row else "")
        return self._verdict(row, "revoked" if row["revoked_at"] else "genuine")

    @staticmethod
    def _verdict(row: dict, status: Status) -> Verdict:
        return Verdict(status=status, code=row["code"], summary=json.loads(row["summary"]),
                       issued_at=row["issued_at"], revoked_at=row["revoked_at"])
