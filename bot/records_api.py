"""/api/records/lookup and /api/documents/verify: the personal look-ups and the e-document check
over HTTP (docs/services.md), served from the embedded backends; services/api.py describes them.

A look-up's identity travels in the POST body, never in the URL, and nothing of it is logged.
The failure limits are the chat's: per conversation (the body's ``conversation``, else the
client address) and per client address behind trusted proxies, as bot/admission.py computes it.
Revoking a document is an operator's act (``python -m bot documents revoke CODE``), not a route.
"""

from __future__ import annotations

import time
from http import HTTPStatus

from bot.http_api import ApiAnswer, ApiError, ApiRequest, ApiRouter, json_answer
from services.documents import Documents
from services.inquiries import Inquiries, Outcome
from services.records import Locked, LookupRequest, NotMatched, RecordService, Requester


def add_record_routes(router: ApiRouter, records: RecordService, documents: Documents,
                      inquiries: Inquiries) -> None:
    api = RecordApi(records, documents, inquiries)
    router.add("POST", "/api/records/lookup", api.look_up)
    router.add("POST", "/api/documents/verify", api.verify)


class RecordApi:
    def __init__(self, records: RecordService, documents: Documents, inquiries: Inquiries) -> None:
        self.records, self.documents, self.inquiries = records, documents, inquiries

    def look_up(self, request: ApiRequest) -> ApiAnswer:
        asked = request.json(LookupRequest)
        requester = Requester(session=asked.conversation or f"api:{request.client}",
                              ip=request.client)
        now = time.time()
        result = self.records.look_up(asked.kind, asked.identity, requester, now)
        outcome: Outcome = "not_matched" if isinstance(result, NotMatched) else (
            "locked" if isinstance(result, Locked) else "matched")
        self.inquiries.record(requester.session, asked.kind, asked.number, outcome, asked.assisted, now)
        if isinstance(result, NotMatched):
            # The same words whether the number exists or not (services/records.py).
            raise ApiError(HTTPStatus.NOT_FOUND, "not_matched",
                           {"attempts_left": result.attempts_left})
        if isinstance(result, Locked):
            answer = ApiError(HTTPStatus.TOO_MANY_REQUESTS, "locked",
                              {"until": result.until}).answer()
            wait = max(1, round(result.until - now))
            return ApiAnswer(answer.status, answer.body, headers={"Retry-After": str(wait)})
        return json_answer(result)

    def verify(self, request: ApiRequest) -> ApiAnswer:
        """A PDF someone holds: genuine, tampered, revoked, or unknown (no signature of ours)."""
        pdf = request.content("application/pdf", "a PDF body")
        return json_answer(self.documents.verify_file(pdf))
