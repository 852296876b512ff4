"""The HTTP side of the server: every request before a websocket opens.

Routes: the widget's static files, /qr.svg, /healthz, /readyz, /metrics, the passport
e-documents' download links and verify pages (/documents/<token>, /verify/<code>) (GET/HEAD),
the services API under /api (bot/http_api.py's router: GET, and POST with a JSON body, or a
PDF for /api/documents/verify, that bot/http_bodies.py reads; docs/services.md), and the
upgrade to /ws and /agent/ws, which
**bot/admission.py** may refuse. Every response gets the same security headers and the
Content-Security-Policy.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from bot.admission import Admission, Refusal, url_origin
from bot.appointment_api import add_appointment_routes
from bot.guides_api import add_guide_routes
from bot.http_api import ApiAnswer, ApiRequest, ApiRouter
from bot.metrics import Metrics
from bot.qr import qr_svg
from bot.records_api import add_record_routes
from bot.settings import ROOT, Settings
from bot.store import Store
from bot.verify_page import verify_page
from handoff.service import HandoffService
from runtime.offload import Busy, Offload
from runtime.ratelimit import address_in, parse_networks
from services.api import openapi_document
from services.appointments import Appointments
from services.directory import EmbeddedOfficeDirectory, OfficeDirectory
from services.documents import Documents
from services.guide_links import GuideLinks
from services.guide_pdf import GuidePdfs
from services.inquiries import Inquiries
from services.record_store import EmbeddedRecords
from services.signing import signing_key

log = logging.getLogger(__name__)

STATIC_DIR = ROOT / "widget" / "static"
PAGES = {"/": "portal.html", "/m": "mobile.html", "/widget.js": "widget.js",
         "/favicon.ico": "favicon.ico",
         "/console": "console.html"}
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml",
                 ".png": "image/png", ".json": "application/json", ".ico": "image/x-icon"}
# A request path: printable ASCII only (no NUL, no control characters, no spaces).
SAFE_PATH = re.compile(r"/[\x21-\x7e]{0,2047}")
# Headers a request may carry once: two Hosts or two Origins is a smuggling attempt, not a client.
SINGLE_HEADERS = ("Host", "Origin", "Content-Length")
# Transfer tokens are 43 URL-safe characters; nothing longer is ever drawn.
QR_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
QR_MAX_TOKEN = 64
QR_MAX_QUERY = 256
QR_MAX_TARGET = 512
QR_CACHE = 256
MAX_PLACE = 64
JSON_TYPE = "application/json; charset=utf-8"
# E-document links (43 URL-safe characters) and verification codes (16 base32 characters).
DOCUMENT_PATH = re.compile(r"/documents/([A-Za-z0-9_-]{20,64})")
GUIDE_PATH = re.compile(r"/guides/([A-Za-z0-9_-]{20,64})")
VERIFY_PATH = re.compile(r"/verify/([A-Za-z2-7]{16})")


class BadRequest(Exception):
    def __init__(self, status: HTTPStatus, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


def method(request: Request) -> str:
    """The request's method (a websockets release without `Request.method` parses only GET)."""
    return getattr(request, "method", "GET")


def content_security_policy(frame_ancestors: list[str], public_url: str | None) -> str:
    """No inline script anywhere: pages load their scripts from files of this server."""
    connect = ["'self'"]
    if public_url:
        origin = url_origin(public_url)
        connect.append(origin.replace("https://", "wss://").replace("http://", "ws://"))
    return "; ".join([
        "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:", f"connect-src {' '.join(connect)}", "object-src 'none'",
        "base-uri 'none'", "form-action 'self'",
        "frame-ancestors " + (" ".join(frame_ancestors) or "'none'"),
    ])


def http_response(status: HTTPStatus, body: bytes | str,
                  content_type: str = "text/plain; charset=utf-8") -> Response:
    data = body.encode() if isinstance(body, str) else body
    headers = Headers([
        ("Content-Type", content_type), ("Content-Length", str(len(data))),
        ("Cache-Control", "no-cache"), ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
    ])
    return Response(status.value, status.phrase, headers, data)


def refused(refusal: Refusal) -> Response:
    response = http_response(refusal.status, refusal.text)
    if refusal.retry_after is not None:
        response.headers["Retry-After"] = str(max(1, round(refusal.retry_after)))
    return response


def refusal_response(path: str, status: HTTPStatus, text: str) -> Response:
    """A request refused before any route ran: under /api as the API's JSON refusals are
    (``{"error", "detail"}``, docs/services.md), elsewhere as plain text."""
    if not path.startswith("/api/"):
        return http_response(status, text)
    body = json.dumps({"error": status.name.lower(), "detail": text.strip()})
    return http_response(status, body, JSON_TYPE)


def base_url(settings: Settings, request: Request | None) -> str:
    """Where visitors reach this server: the public URL, else the Host they used."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    if request is not None and request.headers.get("Host"):
        return f"http://{request.headers['Host']}"
    return f"http://{settings.host}:{settings.port}"


class HttpEdge:
    """``process_request`` for the websockets server: answers plain HTTP requests, lets an
    admitted websocket upgrade through (None). ``readiness`` says whether /readyz is 200."""

    def __init__(self, settings: Settings, store: Store, metrics: Metrics,
                 handoff: HandoffService, admission: Admission, qr_offload: Offload,
                 readiness: Callable[[], tuple[bool, str]],
                 offices: OfficeDirectory | None = None,
                 appointments: Appointments | None = None) -> None:
        self.offices = offices or EmbeddedOfficeDirectory()
        # The passport e-documents (services/documents.py); the signing key is made at first start.
        self.documents = Documents(store.database, signing_key(settings.data_dir))
        self.openapi = json.dumps(openapi_document(), ensure_ascii=False)
        self.api = ApiRouter()
        self.api.add("GET", "/api/offices", self.find_offices)
        self.api.add("GET", "/api/openapi.json",
                     lambda _: ApiAnswer(HTTPStatus.OK, self.openapi, JSON_TYPE))
        if appointments is not None:
            add_appointment_routes(self.api, appointments)
        records = EmbeddedRecords(store.database, settings)
        if settings.demo_records:
            records.load_demo()  # idempotent: the model workers load it too
        add_record_routes(self.api, records, self.documents, Inquiries(store.database))
        # The service guides' checklists, and their download links from the chat.
        pdfs = GuidePdfs()
        add_guide_routes(self.api, pdfs)
        self.guide_links = GuideLinks(store.database, pdfs)
        self.settings, self.store, self.metrics, self.handoff = settings, store, metrics, handoff
        self.admission = admission
        self.qr_offload = qr_offload
        self.readiness = readiness
        self.qr_cache: dict[str, bytes] = {}  # target URL -> SVG, the most recent QR_CACHE
        self.metrics_from = parse_networks(settings.metrics_allowed)
        self.csp = content_security_policy(settings.frame_ancestors, settings.public_url)

    async def process_request(self, connection: ServerConnection,
                              request: Request) -> Response | None:
        try:
            response = await self.route_request(connection, request)
        except BadRequest as err:
            response = refusal_response(request.path, err.status, err.text)
        except Exception:  # a bug must still answer the request, and say so in the log once
            log.exception("request failed", extra={"path": request.path[:200]})
            response = http_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error\n")
        if response is not None:
            self.finish_response(request, response)
        return response

    async def route_request(self, connection: ServerConnection,
                            request: Request) -> Response | None:
        if len(request.path) > 2048:
            raise BadRequest(HTTPStatus.REQUEST_URI_TOO_LONG, "URI too long\n")
        if not SAFE_PATH.fullmatch(request.path):
            raise BadRequest(HTTPStatus.BAD_REQUEST, "bad path\n")
        for name in SINGLE_HEADERS:
            if len(request.headers.get_all(name)) > 1:
                raise BadRequest(HTTPStatus.BAD_REQUEST, f"more than one {name} header\n")
        url = urlsplit(request.path)
        if url.path.startswith("/api/"):
            return await self.api_request(connection, request, url.path, url.query)
        if method(request) not in ("GET", "HEAD"):
            response = http_response(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed\n")
            response.headers["Allow"] = "GET, HEAD"
            return response
        peer = connection.remote_address[0]
        if url.path in ("/ws", "/agent/ws"):
            if method(request) != "GET":
                return http_response(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed\n")
            refusal = self.admission.admit(peer, request, asyncio.get_running_loop().time())
            return None if refusal is None else refused(refusal)
        if url.path == "/healthz":
            return http_response(HTTPStatus.OK, "ok\n")
        if url.path == "/readyz":
            ready, why = self.readiness()
            return http_response(HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE,
                                 "ready\n" if ready else f"{why}\n")
        if url.path == "/metrics":
            if not address_in(self.admission.client_ip(peer, request), self.metrics_from):
                return http_response(HTTPStatus.FORBIDDEN, "forbidden\n")
            body = self.metrics.render(self.handoff.queue_lengths())
            return http_response(HTTPStatus.OK, body, "text/plain; version=0.0.4; charset=utf-8")
        if url.path == "/qr.svg":
            refusal = self.admission.allow_drawing(peer, request,
                                                   asyncio.get_running_loop().time())
            if refusal is not None:
                return refused(refusal)
            return await self.qr(request, url.query)
        if url.path.startswith(("/documents/", "/verify/")):
            return self.e_document(url.path)
        if url.path.startswith("/guides/"):
            return await self.guide_checklist(url.path)
        return self.static(url.path)

    async def api_request(self, connection: ServerConnection, request: Request, path: str,
                          query: str) -> Response:
        """/api/...: the router's answer (a body, if any, was read by BodyReadingConnection)."""
        api_request = ApiRequest(
            method=method(request), path=path, query=query,
            content_type=request.headers.get("Content-Type"),
            body=getattr(connection, "body", None),
            body_error=getattr(connection, "body_error", None),
            client=self.admission.client_ip(connection.remote_address[0], request))
        answer = await self.api.answer(api_request)
        response = http_response(answer.status, answer.body, answer.content_type)
        for name, value in answer.headers.items():
            response.headers[name] = value
        return response

    def finish_response(self, request: Request, response: Response) -> None:
        """Security headers on every page; HEAD gets the headers without the body."""
        response.headers["Content-Security-Policy"] = self.csp
        if method(request) == "HEAD":
            response.body = b""  # Content-Length still says how long the GET body is

    async def qr(self, request: Request, query: str) -> Response:
        """The "continue on your phone" QR code. Its token is length-checked before anything is
        drawn, and drawing runs in a thread behind a bounded queue (503 when it is full)."""
        if len(query) > QR_MAX_QUERY:
            return http_response(HTTPStatus.REQUEST_URI_TOO_LONG, "token too long\n")
        try:
            values = parse_qs(query, strict_parsing=False, max_num_fields=4).get("t", [""])
        except ValueError:
            raise BadRequest(HTTPStatus.BAD_REQUEST, "bad query\n") from None
        token = values[0]
        if len(token) > QR_MAX_TOKEN:
            return http_response(HTTPStatus.REQUEST_URI_TOO_LONG, "token too long\n")
        if token and not QR_TOKEN.fullmatch(token):
            raise BadRequest(HTTPStatus.BAD_REQUEST, "bad token\n")
        if token and not self.store.transfer_live(token):  # only codes we handed out are drawn
            return http_response(HTTPStatus.NOT_FOUND, "unknown or expired link\n")
        target = f"{base_url(self.settings, request)}/m" + (f"?t={token}" if token else "")
        if len(target) > QR_MAX_TARGET:
            raise BadRequest(HTTPStatus.BAD_REQUEST, "the public URL is too long for a QR code\n")
        svg = self.qr_cache.get(target)
        if svg is None:
            try:
                svg = await self.qr_offload.run(qr_svg, target)
            except Busy:
                response = http_response(HTTPStatus.SERVICE_UNAVAILABLE, "busy, try again\n")
                response.headers["Retry-After"] = "1"
                return response
            self.qr_cache[target] = svg
            while len(self.qr_cache) > QR_CACHE:
                del self.qr_cache[next(iter(self.qr_cache))]
        return http_response(HTTPStatus.OK, svg, "image/svg+xml")

    def find_offices(self, request: ApiRequest) -> ApiAnswer:
        """GET /api/offices?place=&lang=: the office directory's one operation (services/)."""
        try:
            values = parse_qs(request.query, strict_parsing=False, max_num_fields=4)
        except ValueError:
            raise BadRequest(HTTPStatus.BAD_REQUEST, "bad query\n") from None
        place = (values.get("place") or [""])[0].strip()
        lang = (values.get("lang") or ["zh"])[0]
        if not place or len(place) > MAX_PLACE:
            raise BadRequest(HTTPStatus.BAD_REQUEST, "place: a city or province, 1-64 characters\n")
        if lang not in ("zh", "en"):
            raise BadRequest(HTTPStatus.BAD_REQUEST, "lang: zh or en\n")
        answer = self.offices.find(place, "zh" if lang == "zh" else "en")
        return ApiAnswer(HTTPStatus.OK, answer.model_dump_json(), JSON_TYPE)

    def e_document(self, path: str) -> Response:
        """A passport e-document's PDF behind its download link (the same 404 for a wrong,
        expired or purged link), or the verify page of a code (404 with the page for none)."""
        link = DOCUMENT_PATH.fullmatch(path)
        if link is not None:
            pdf = self.documents.download(link.group(1), time.time())
            if pdf is None:
                return http_response(HTTPStatus.NOT_FOUND, "unknown or expired link\n")
            response = http_response(HTTPStatus.OK, pdf, "application/pdf")
            response.headers["Content-Disposition"] = 'attachment; filename="e-document.pdf"'
            response.headers["Cache-Control"] = "no-store"
            return response
        code = VERIFY_PATH.fullmatch(path)
        if code is None:
            return http_response(HTTPStatus.NOT_FOUND, "not found\n")
        verdict = self.documents.verify_code(code.group(1).upper())
        status = HTTPStatus.NOT_FOUND if verdict.status == "unknown" else HTTPStatus.OK
        return http_response(status, verify_page(verdict), CONTENT_TYPES[".html"])

    async def guide_checklist(self, path: str) -> Response:
        """A guide's checklist behind a chat's download link (404 for a wrong, expired or purged
        link); drawn off the event loop, as the first drawing of a guide takes about a second."""
        link = GUIDE_PATH.fullmatch(path)
        found = None if link is None else await asyncio.to_thread(
            self.guide_links.download, link.group(1), time.time())
        if found is None:
            return http_response(HTTPStatus.NOT_FOUND, "unknown or expired link\n")
        guide_id, pdf = found
        response = http_response(HTTPStatus.OK, pdf, "application/pdf")
        response.headers["Content-Disposition"] = f'attachment; filename="{guide_id}.pdf"'
        del response.headers["Cache-Control"]  # http_response's no-cache: the link is the chat's
        response.headers["Cache-Control"] = "no-store"
        return response

    def static(self, path: str) -> Response:
        name = PAGES.get(path) or (path[len("/static/"):] if path.startswith("/static/") else None)
        file = (STATIC_DIR / name).resolve() if name else None
        if file is None or not file.is_relative_to(STATIC_DIR.resolve()) or not file.is_file():
            return http_response(HTTPStatus.NOT_FOUND, "not found\n")
        content_type = CONTENT_TYPES.get(file.suffix, "application/octet-stream")
        return http_response(HTTPStatus.OK, file.read_bytes(), content_type)
