"""The look-ups behind the form, run by the pipeline in its worker process: the identity check
against the records, and for the passport service the signed e-document and its download link.
Each worker opens its own connection to the one database (the records may instead be a remote
server's, `CHAT_RECORDS_URL`: services/http_adapter.py's HttpRecords; the e-document is still
issued and signed here); the demo records and the signing key
are created at first start (idempotent, whichever process comes first)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.lookup_form import LookUp
from services.appointments import Assisted
from services.documents import Documents, Issued
from services.http_adapter import HttpRecords
from services.inquiries import Inquiries, Outcome
from services.record_store import EmbeddedRecords
from services.records import SERVICE_KINDS, Locked, LookupResult, Record, RecordService, Requester
from services.settings import ServiceSettings
from services.signing import signing_key
from storage.backends import open_database

PASSPORT_SERVICE = "service_passport_info"  # the one look-up that issues an e-document


@dataclass(frozen=True)
class Looked:
    """What a look-up found, and the e-document issued with it (passport service only)."""

    service: str
    result: LookupResult
    document: Issued | None = None
    assisted: Assisted | None = None  # a family member's or friend's look-up: who helped


class Lookups:
    def __init__(self, records: RecordService, documents: Documents, settings: ServiceSettings,
                 base_url: str, inquiries: Inquiries) -> None:
        self.records, self.documents, self.inquiries = records, documents, inquiries
        self.settings, self.base_url = settings, base_url.rstrip("/")

    @classmethod
    def open(cls, settings: ServiceSettings, base_url: str) -> Lookups:
        db = open_database(settings.database)
        records: RecordService
        if settings.records_url:
            records = HttpRecords(settings.records_url)
        else:
            records = EmbeddedRecords(db, settings)
            if settings.demo_records:
                records.load_demo()
        return cls(records, Documents(db, signing_key(settings.data_dir)), settings, base_url,
                   Inquiries(db))

    def run(self, action: LookUp, requester: Requester) -> Looked:
        now = time.time()
        kind = SERVICE_KINDS[action.service]
        result = self.records.look_up(kind, action.identity, requester, now, action.assisted)
        outcome: Outcome = "matched" if isinstance(result, Record) else (
            "locked" if isinstance(result, Locked) else "not_matched")
        self.inquiries.record(requester.session, kind, action.identity.number, outcome,
                              action.assisted, now)
        issued = None
        if action.service == PASSPORT_SERVICE and isinstance(result, Record):
            issued = self.documents.issue(result, requester.session, self.base_url, now,
                                          self.settings.document_link_s)
        return Looked(action.service, result, issued, action.assisted)

    def download_url(self, issued: Issued) -> str:
        return f"{self.base_url}/documents/{issued.token}"

    def verify_url(self, code: str) -> str:
        return f"{self.base_url}/verify/{code}"

