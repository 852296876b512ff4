"""/api/guides: the service guides (services/guides.py) as JSON, and a guide's checklist as a
PDF (`format=pdf`); services/api.py describes them in the OpenAPI document."""

from __future__ import annotations

import asyncio
from http import HTTPStatus

from bot.http_api import ApiAnswer, ApiError, ApiRequest, ApiRouter, json_answer
from runtime.language import Script
from services.guide_pdf import GuidePdfs
from services.guides import GuideBook, Lang

PDF_TYPE = "application/pdf"
SCRIPTS: dict[str, Script] = {"zh-Hans": "zh-Hans", "zh-Hant": "zh-Hant"}


def add_guide_routes(router: ApiRouter, pdfs: GuidePdfs) -> None:
    api = GuideApi(pdfs)
    router.add("GET", "/api/guides", api.list)
    router.add("GET", "/api/guides/{guide}", api.guide)


class GuideApi:
    def __init__(self, pdfs: GuidePdfs) -> None:
        self.pdfs = pdfs
        self.book: GuideBook = pdfs.book

    def list(self, request: ApiRequest) -> ApiAnswer:
        lang, script = _language(request)
        return json_answer(self.book.list(lang, script))

    async def guide(self, request: ApiRequest) -> ApiAnswer:
        lang, script = _language(request)
        shape = request.arg("format", "json")
        if shape not in ("json", "pdf"):
            raise ApiError(HTTPStatus.BAD_REQUEST, "invalid", "format: json or pdf")
        guide = self.book.get(request.params["guide"], lang, script)
        if guide is None:
            raise ApiError(HTTPStatus.NOT_FOUND, "not_found", "no such guide: see /api/guides")
        if shape == "json":
            return json_answer(guide)
        # Drawn once per guide and script, off the event loop (about a second the first time).
        pdf = await asyncio.to_thread(self.pdfs.get, guide.id, lang, guide.script)
        assert pdf is not None  # the guide exists
        return ApiAnswer(HTTPStatus.OK, pdf, PDF_TYPE,
                         {"Content-Disposition": f'attachment; filename="{guide.id}.pdf"'})


def _language(request: ApiRequest) -> tuple[Lang, Script | None]:
    lang = request.arg("lang", "zh")
    script = request.arg("script")
    if lang not in ("zh", "en"):
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid", "lang: zh or en")
    if script is not None and (lang != "zh" or script not in SCRIPTS):
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid", "script: zh-Hans or zh-Hant, with lang=zh")
    return ("zh" if lang == "zh" else "en"), SCRIPTS.get(script or "")
