"""The services' HTTP API under /api: a small router of (method, path pattern) → handler, and
the request and answer types handlers see, free of websockets so they are plain functions.

bot/http_edge.py builds an `ApiRequest` (the body comes from bot/http_bodies.py) and turns the
`ApiAnswer` into a response. A new operation is one `ApiRouter.add` call; JSON bodies are read
into a pydantic model with `ApiRequest.json`, which turns every problem into a 4xx answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import parse_qs

from pydantic import BaseModel, ValidationError

JSON_TYPE = "application/json; charset=utf-8"
Model = TypeVar("Model", bound=BaseModel)
MAX_BODY = 16 * 1024  # the API's JSON bodies are a few hundred bytes
# A passport e-document uploaded for verification (services/edocument_pdf.py) embeds its CJK
# font subset: tens of KiB, so that one route reads up to 1 MiB.
MAX_DOCUMENT = 1024 * 1024
LARGER_BODIES = {"/api/documents/verify": MAX_DOCUMENT}


def body_limit(path: str) -> int:
    """The most a request to ``path`` may send (bot/http_bodies.py reads no more)."""
    return LARGER_BODIES.get(path.split("?", 1)[0], MAX_BODY)


@dataclass(frozen=True)
class ApiAnswer:
    status: HTTPStatus
    body: str | bytes  # bytes: a PDF (a guide's checklist)
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """A 4xx answer, as JSON ``{"error": code, "detail": ...}``."""

    def __init__(self, status: HTTPStatus, code: str, detail: Any) -> None:
        super().__init__(code)
        self.status, self.code, self.detail = status, code, detail

    def answer(self) -> ApiAnswer:
        return ApiAnswer(self.status, json.dumps({"error": self.code, "detail": self.detail},
                                                 ensure_ascii=False))


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    query: str
    content_type: str | None
    body: bytes | None
    body_error: str | None  # bot/http_bodies.py: "too_large", "bad_length"
    params: dict[str, str] = field(default_factory=dict)  # the path pattern's named groups
    client: str = ""  # the client's address behind trusted proxies (bot/admission.py)

    def arg(self, name: str, default: str | None = None) -> str | None:
        try:
            values = parse_qs(self.query, strict_parsing=False, max_num_fields=8)
        except ValueError:
            raise ApiError(HTTPStatus.BAD_REQUEST, "bad_query", "unreadable query") from None
        found = values.get(name)
        return found[0] if found else default

    def json(self, model: type[Model]) -> Model:
        body = self.content("application/json", "a JSON body")
        try:
            return model.model_validate_json(body)
        except ValidationError as err:
            detail = [{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]}
                      for e in err.errors(include_url=False, include_input=False)]
            raise ApiError(HTTPStatus.BAD_REQUEST, "invalid", detail) from None

    def content(self, media_type: str, what: str) -> bytes:
        """The body, refused unless it is of ``media_type`` and within its route's limit."""
        if self.body_error == "too_large":
            raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too_large",
                           f"the body is over {body_limit(self.path) // 1024} KiB")
        if self.body_error is not None or self.body is None:
            raise ApiError(HTTPStatus.BAD_REQUEST, "no_body",
                           f"{what} with a Content-Length is required")
        if (self.content_type or "").split(";")[0].strip().lower() != media_type:
            raise ApiError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                           "not_json" if media_type == "application/json" else "not_pdf",
                           f"Content-Type: {media_type}")
        return self.body


Handler = Callable[[ApiRequest], ApiAnswer | Awaitable[ApiAnswer]]


class ApiRouter:
    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        """``pattern``: the path, with ``{name}`` for a segment the handler gets in ``params``."""
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        self.routes.append((method, re.compile(regex), handler))

    def handles(self, path: str) -> bool:
        return any(regex.fullmatch(path) for _, regex, _ in self.routes)

    async def answer(self, request: ApiRequest) -> ApiAnswer:
        allowed = []
        for method, regex, handler in self.routes:
            match = regex.fullmatch(request.path)
            if match is None:
                continue
            if method != request.method and not (method == "GET" and request.method == "HEAD"):
                allowed.append(method)
                continue
            try:
                result = handler(_with_params(request, match.groupdict()))
                return result if isinstance(result, ApiAnswer) else await result
            except ApiError as err:
                return err.answer()
        if allowed:
            answer = ApiError(HTTPStatus.METHOD_NOT_ALLOWED, "method",
                              f"allowed: {', '.join(allowed)}").answer()
            return ApiAnswer(answer.status, answer.body, headers={"Allow": ", ".join(allowed)})
        return ApiError(HTTPStatus.NOT_FOUND, "not_found", "no such API operation").answer()


def _with_params(request: ApiRequest, params: dict[str, str]) -> ApiRequest:
    return ApiRequest(request.method, request.path, request.query, request.content_type,
                      request.body, request.body_error, params, request.client)


def json_answer(model: BaseModel, status: HTTPStatus = HTTPStatus.OK) -> ApiAnswer:
    return ApiAnswer(status, model.model_dump_json())
