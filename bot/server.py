"""The websocket and HTTP edge: one ``websockets`` server for visitors, agents, pages and probes.

Everything that decides anything lives elsewhere (protocol, dialogue, pipeline, handoff); this
module moves frames between sockets and those parts, and owns start-up and graceful shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import shutil
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from bot import frames as f
from bot import protocol as p
from bot.dialogue import Context
from bot.hub import Hub
from bot.metrics import Metrics
from bot.pipeline import Outcome, feedback, greet, say
from bot.qr import qr_svg
from bot.retention import Policy, purge
from bot.settings import ROOT, Settings
from bot.store import SessionInfo, Store
from bot.texts import text
from bot.worker import ModelWorkers
from handoff.service import HandoffService
from runtime.frames import Frame, Pong
from runtime.language import output_script
from runtime.offload import Busy, Offload
from runtime.ratelimit import IpLimits, TokenBucket, address_in, client_ip, parse_networks
from storage.database import OperationalError

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


class BadRequest(Exception):
    def __init__(self, status: HTTPStatus, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


def method(request: Request) -> str:
    """The request's method (a websockets release without `Request.method` parses only GET)."""
    return getattr(request, "method", "GET")


def url_origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def is_ip_or_localhost(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


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


class ChatServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.store_path, session_ttl_s=settings.session_ttl_s)
        self.hub = Hub(self.store)
        self.metrics = Metrics()
        self.limits = p.Limits(max_text_chars=settings.max_text_chars)
        self.ip_limits = IpLimits(settings.ip_rate, settings.ip_burst, settings.max_conns_per_ip)
        self.proxies = parse_networks(settings.trusted_proxies)
        self.locks = SessionLocks()
        self.tasks: set[asyncio.Task] = set()
        self.ready = asyncio.Event()
        self.workers: ModelWorkers | None = None
        self.handoff = HandoffService(settings, self.hub, None)
        self.qr_offload = Offload("qr", workers=1, queue=settings.offload_queue, processes=True)
        self.qr_cache: dict[str, bytes] = {}  # target URL -> SVG, the most recent QR_CACHE
        self.metrics_from = parse_networks(settings.metrics_allowed)
        self.csp = content_security_policy(settings.frame_ancestors, settings.public_url)
        self.purge_stop = threading.Event()  # set at shutdown: a purge in its thread stops

    # Start-up and shutdown ---------------------------------------------------------------------

    async def load_models(self) -> None:
        """Start the model workers (building the index or NLU model when stale) off the loop."""
        started = time.perf_counter()
        self.workers = ModelWorkers(self.settings, self.handoff.regions(),
                                    self.settings.model_workers)
        await self.workers.warm_up()
        self.handoff.retriever = self.workers.retriever()
        self.ready.set()
        for sid in list(self.hub.connections):
            self.hub.push_now(sid, f.Ready())
        log.info("models loaded", extra={"seconds": round(time.perf_counter() - started, 2)})

    async def run(self, stop: asyncio.Future | None = None, *, models: bool = True) -> None:
        """Serve until SIGTERM/SIGINT, or until ``stop`` resolves when the caller owns shutdown
        (then no signal handler is installed: the loop may live in a thread). ``models=False``
        never loads the models (/readyz stays 503, messages are acked but wait for an answer):
        the tests of the HTTP and websocket edges run such a server in-process."""
        loop = asyncio.get_running_loop()
        if stop is None:
            stop = loop.create_future()

            def request_stop() -> None:
                if not stop.done():
                    stop.set_result(None)

            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, request_stop)
        await self.handoff.start()
        purger = (asyncio.create_task(self.purge_periodically())
                  if self.settings.purge_interval_s > 0 else None)
        async with serve(
            self.handle, self.settings.host, self.settings.port,
            process_request=self.process_request, max_size=self.settings.max_frame_bytes,
            compression=None, ping_interval=30, ping_timeout=30, close_timeout=5,
            server_header="12367-online",
        ) as server:
            loader = asyncio.create_task(self.load_models() if models else asyncio.sleep(0))
            log.info("serving", extra={"url": self.base_url(None)})
            print(f"12367 ONLINE serving on {self.base_url(None)}", flush=True)
            await stop
            log.info("shutting down")
            # Stop accepting, tell every client to come back later (1012 = service restart).
            server.close(close_connections=True, code=1012, reason="service restart")
            await server.wait_closed()
            loader.cancel()
        self.purge_stop.set()
        if purger is not None:
            purger.cancel()
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=10)
        if self.workers is not None:
            await asyncio.to_thread(self.workers.shutdown)
        await self.handoff.stop()
        self.qr_offload.shutdown()
        self.store.close()
        log.info("stopped")

    def base_url(self, request: Request | None) -> str:
        if self.settings.public_url:
            return self.settings.public_url.rstrip("/")
        if request is not None and request.headers.get("Host"):
            return f"http://{request.headers['Host']}"
        return f"http://{self.settings.host}:{self.settings.port}"

    async def purge_periodically(self) -> None:
        """The retention purge now and every ``CHAT_PURGE_INTERVAL_S``, in a thread with its own
        connection and short transactions: visitors are never kept waiting for it."""
        policy = Policy.from_settings(self.settings)
        while True:
            try:
                report = await asyncio.to_thread(purge, self.settings.store_path, policy,
                                                 now=time.time(), stop=self.purge_stop)
            except Exception:  # a locked or full database, or a bug: logged; the next round tries
                log.exception("retention purge failed")
            else:
                self.forget(report.sessions)
                if any(report.counts.values()):
                    log.info("retention purge", extra={"purged": report.counts})
            await asyncio.sleep(self.settings.purge_interval_s)

    def forget(self, session_ids: list[str]) -> None:
        """Purged conversations: a tab still open on one is detached (its next frame gets
        ``hello_required``, and its resume token a new conversation), and its address forgotten."""
        for sid in session_ids:
            self.hub.forget(sid)
        self.handoff.forget_stale(time.time())

    # HTTP ----------------------------------------------------------------------------------------

    async def process_request(self, connection: ServerConnection,
                              request: Request) -> Response | None:
        try:
            response = await self.route_request(connection, request)
        except BadRequest as err:
            response = http_response(err.status, err.text)
        except Exception:  # a bug must still answer the request, and say so in the log once
            log.exception("request failed", extra={"path": request.path[:200]})
            response = http_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error\n")
        if response is not None:
            self.finish_response(request, response)
        return response

    async def route_request(self, connection: ServerConnection,
                            request: Request) -> Response | None:
        if len(request.path) > 2048:
            return http_response(HTTPStatus.REQUEST_URI_TOO_LONG, "URI too long\n")
        if method(request) not in ("GET", "HEAD"):
            response = http_response(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed\n")
            response.headers["Allow"] = "GET, HEAD"
            return response
        if not SAFE_PATH.fullmatch(request.path):
            raise BadRequest(HTTPStatus.BAD_REQUEST, "bad path\n")
        for name in SINGLE_HEADERS:
            if len(request.headers.get_all(name)) > 1:
                raise BadRequest(HTTPStatus.BAD_REQUEST, f"more than one {name} header\n")
        url = urlsplit(request.path)
        if url.path in ("/ws", "/agent/ws"):
            if method(request) != "GET":
                return http_response(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed\n")
            return self.admit(connection, request)
        if url.path == "/healthz":
            return http_response(HTTPStatus.OK, "ok\n")
        if url.path == "/readyz":
            ready, why = self.readiness()
            return http_response(HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE,
                                 "ready\n" if ready else f"{why}\n")
        if url.path == "/metrics":
            ip = self.client_ip(connection.remote_address[0], request)
            if not address_in(ip, self.metrics_from):
                return http_response(HTTPStatus.FORBIDDEN, "forbidden\n")
            body = self.metrics.render(self.handoff.queue_lengths())
            return http_response(HTTPStatus.OK, body, "text/plain; version=0.0.4; charset=utf-8")
        if url.path == "/qr.svg":
            # Drawing costs CPU: each code takes a token from the client IP's frame allowance.
            ip = self.client_ip(connection.remote_address[0], request)
            now = asyncio.get_running_loop().time()
            self.ip_limits.purge(now)  # HTTP-only clients' buckets are forgotten too
            wait = self.ip_limits.take(ip, now)
            if wait > 0:
                response = http_response(HTTPStatus.TOO_MANY_REQUESTS, "too many requests\n")
                response.headers["Retry-After"] = str(max(1, round(wait)))
                return response
            return await self.qr(request, url.query)
        return self.static(url.path)

    def finish_response(self, request: Request, response: Response) -> None:
        """Security headers on every page; HEAD gets the headers without the body."""
        response.headers["Content-Security-Policy"] = self.csp
        if method(request) == "HEAD":
            response.body = b""  # Content-Length still says how long the GET body is

    def readiness(self) -> tuple[bool, str]:
        if not self.ready.is_set():
            return False, "loading"
        try:  # a full disk cannot store messages: not ready (the load balancer moves visitors)
            free = shutil.disk_usage(self.settings.data_dir).free
        except OSError:
            return False, "data dir unavailable"
        if free < self.settings.min_free_disk_mb * 1024 * 1024:
            return False, "disk full"
        return True, "ready"

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
        target = f"{self.base_url(request)}/m" + (f"?t={token}" if token else "")
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

    def static(self, path: str) -> Response:
        name = PAGES.get(path) or (path[len("/static/"):] if path.startswith("/static/") else None)
        file = (STATIC_DIR / name).resolve() if name else None
        if file is None or not file.is_relative_to(STATIC_DIR.resolve()) or not file.is_file():
            return http_response(HTTPStatus.NOT_FOUND, "not found\n")
        content_type = CONTENT_TYPES.get(file.suffix, "application/octet-stream")
        return http_response(HTTPStatus.OK, file.read_bytes(), content_type)

    def admit(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse a websocket before it opens: wrong Origin (403) or too many from one IP (429)."""
        origin = request.headers.get("Origin")
        if origin is not None and not self.origin_allowed(origin, request.headers.get("Host")):
            return http_response(HTTPStatus.FORBIDDEN, "origin not allowed\n")
        ip = self.client_ip(connection.remote_address[0], request)
        if self.ip_limits.connections.get(ip, 0) >= self.settings.max_conns_per_ip:
            return http_response(HTTPStatus.TOO_MANY_REQUESTS, "too many connections\n")
        # Opening a socket counts as a frame of the IP's allowance: reconnecting buys nothing.
        wait = self.ip_limits.take(ip, asyncio.get_running_loop().time())
        if wait > 0:
            response = http_response(HTTPStatus.TOO_MANY_REQUESTS, "too many requests\n")
            response.headers["Retry-After"] = str(max(1, round(wait)))
            return response
        return None

    def client_ip(self, peer: str, request: Request) -> str:
        # Several X-Forwarded-For headers are one list, in order (RFC 9110, 5.3).
        forwarded = ", ".join(request.headers.get_all("X-Forwarded-For")) or None
        return client_ip(peer, forwarded, self.proxies)

    def origin_allowed(self, origin: str, host: str | None) -> bool:
        """The configured public URL's origin and CHAT_ALLOWED_ORIGINS are allowed. Without a
        public URL, the page's own origin is allowed only when its host is an IP address or
        localhost: a DNS name pointing at us (DNS rebinding) is not the site that embeds us."""
        allowed = self.settings.allowed_origins
        if "*" in allowed or origin in allowed:
            return True
        if self.settings.public_url:
            return origin == url_origin(self.settings.public_url)
        parts = urlsplit(origin)
        if host is None or parts.netloc != host or parts.scheme not in ("http", "https"):
            return False
        return is_ip_or_localhost(parts.hostname or "")

    # Websockets ----------------------------------------------------------------------------------

    async def handle(self, ws: ServerConnection) -> None:
        request = ws.request
        assert request is not None  # handlers run after the opening handshake
        endpoint = urlsplit(request.path).path
        ip = self.client_ip(ws.remote_address[0], request)
        self.ip_limits.connect(ip)
        gauge = self.metrics.connections.labels(endpoint=endpoint)
        gauge.inc()
        try:
            if endpoint == "/agent/ws":
                await self.handoff.handle_agent_connection(ws, ip)
            else:
                await VisitorConnection(self, ws, ip).run()
        except ConnectionClosed:
            pass
        finally:
            gauge.dec()
            self.ip_limits.disconnect(ip, asyncio.get_running_loop().time())

    # Bot turns -----------------------------------------------------------------------------------

    def spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def answer(self, sid: str, event: dict) -> None:
        """Run the pipeline for one visitor message and emit what the bot says."""
        async with self.locks.hold(sid):
            if not self.ready.is_set():  # an answer is coming, once the models are loaded
                await self.hub.typing(sid, "bot", True)
            await self.ready.wait()
            session = self.store.session(sid)
            if session is None or session.state != "bot":
                return  # an agent took the chat meanwhile: the bot stays silent
            if self.store.replied_after(sid, event["seq"]):
                return  # answered already (a resumed session after a restart)
            await self.hub.typing(sid, "bot", True)
            ctx = Context(**self.store.context(sid))
            assert self.workers is not None
            try:
                outcome = await self.workers.respond(ctx, event["text"])
            except Exception:  # a broken model must not leave the visitor without an answer
                log.exception("pipeline failed", extra={"session": sid})
                outcome = Outcome([say(ctx, "failure")], None, ctx, {})
            if outcome.nlu:
                self.store.set_event_meta(sid, event["seq"], outcome.nlu)
            for stage, seconds in outcome.timings.items():
                self.metrics.stage_latency.labels(stage=stage).observe(seconds)
            await self.hub.typing(sid, "bot", False)
            chosen = outcome.context
            if chosen.lang_locked and (not ctx.lang_locked or chosen.lang != ctx.lang):
                # "English please" typed or pressed is a choice like the widget's switch: the
                # client relabels itself and keeps the lock.
                await self.hub.push(sid, f.Lang(lang=chosen.lang, locked=True))
            await self.apply(sid, outcome, summary_source=event["text"])

    async def apply(self, sid: str, outcome: Outcome, summary_source: str = "") -> None:
        ctx = outcome.context
        self.store.save_context(sid, ctx.model_dump())
        self.store.update_session(sid, lang=ctx.lang, script=ctx.script,
                                  lang_locked=ctx.lang_locked)
        for reply in outcome.replies:
            await self.hub.emit(sid, reply)
            self.metrics.replies.labels(sender="bot", kind=reply.meta.get("kind", "")).inc()
        if outcome.escalate is not None:
            e = outcome.escalate
            self.metrics.handoffs.labels(reason=e.reason).inc()
            await self.handoff.escalate(
                sid, lang=ctx.lang, business_option=e.business_option, region=e.region,
                overseas=e.overseas, summary=e.summary or summary_source, reason=e.reason,
            )

    async def with_context(self, sid: str, step) -> None:
        """Run a context-changing step (feedback, language switch) under the session's lock."""
        async with self.locks.hold(sid):
            ctx = Context(**self.store.context(sid))
            await self.apply(sid, step(ctx))


class SessionLocks:
    """One asyncio lock per session with work in flight, dropped when nobody holds or awaits it."""

    def __init__(self) -> None:
        self.locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, sid: str):
        lock, users = self.locks.get(sid, (asyncio.Lock(), 0))
        self.locks[sid] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self.locks[sid]
            if users == 1:
                del self.locks[sid]
            else:
                self.locks[sid] = (lock, users - 1)


def expires_at(session: SessionInfo, ttl_s: int) -> str:
    moment = datetime.fromtimestamp(session.last_seen + ttl_s, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


class VisitorConnection:
    """One visitor websocket: hello first, then messages, with rate limits per socket and IP."""

    def __init__(self, server: ChatServer, ws: ServerConnection, ip: str) -> None:
        self.server, self.ws, self.ip = server, ws, ip
        s = server.settings
        self.bucket = TokenBucket(s.conn_rate, s.conn_burst)
        self.bucket.updated = asyncio.get_running_loop().time()
        self.refused = 0
        self.max_refused = max(100, 5 * s.conn_burst)
        self.sid: str | None = None

    def send(self, frame: Frame) -> None:
        self.server.hub.send(self.ws, frame)

    def error(self, err: p.ProtocolError) -> None:
        self.server.metrics.errors.labels(code=err.code).inc()
        self.send(err.frame())

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        # A socket that never says hello is closed (it would hold a connection slot forever).
        deadline = loop.call_later(self.server.settings.hello_timeout_s, self.hello_timeout)
        try:
            async for data in self.ws:
                now = loop.time()
                try:
                    try:
                        message = p.parse_frame(data, self.server.limits)
                    except p.ProtocolError:
                        self.throttle(now, None)  # invalid frames cost this connection's tokens
                        raise
                    self.throttle(now, message)
                    await self.dispatch(message)
                except p.ProtocolError as err:
                    self.error(err)
                if self.refused > self.max_refused:
                    # Still flooding after this many refusals in a row: not a client we can help.
                    await self.ws.close(1008, "rate limit")
                    return
        finally:
            deadline.cancel()
            if self.sid is not None:
                self.server.hub.detach(self.sid, self.ws)
                if not self.server.hub.is_online(self.sid):
                    self.server.handoff.on_visitor_offline(self.sid)

    def hello_timeout(self) -> None:
        if self.sid is None:
            self.server.spawn(self.ws.close(1008, "hello timeout"))

    def throttle(self, now: float, message: p.ClientMessage | None) -> None:
        """The connection's own bucket first: a refused or invalid frame never touches the
        allowance that other connections from the same IP share. Valid frames then take from
        the IP's bucket too."""
        wait = self.bucket.take(now)
        if wait == 0 and message is not None:
            wait = self.server.ip_limits.take(self.ip, now)
        if wait > 0:
            self.refused += 1
            extra = {"id": message.id} if isinstance(message, p.Message) else {}
            raise p.ProtocolError("rate_limited", "Too many messages; please slow down.",
                                  retry_after=round(wait, 2), **extra)
        self.refused = 0

    async def dispatch(self, message: p.ClientMessage) -> None:
        if isinstance(message, p.Hello):
            return await self.hello(message)
        if isinstance(message, p.Ping):
            return self.send(Pong())
        if self.sid is not None and self.lost():
            self.sid = None
        if self.sid is None:
            raise p.ProtocolError("hello_required", "Send a hello frame first.")
        handlers: dict[type, Callable[[Any], Awaitable[None]]] = {
            p.Message: self.message, p.Lang: self.lang, p.Feedback: self.feedback,
            p.Rating: self.rating, p.Close: self.close, p.TransferRequest: self.transfer,
            p.Typing: self.typing,
        }
        handler = handlers[type(message)]
        await handler(message)

    def lost(self) -> bool:
        """This tab has lost its conversation: it moved to a phone, or the retention purge
        removed it (``python -m bot purge`` runs in another process: the store says so)."""
        assert self.sid is not None
        if not self.server.hub.is_attached(self.sid, self.ws):
            return True
        session = self.server.store.session(self.sid)
        if session is None or session.purged_at is not None:
            self.server.hub.detach(self.sid, self.ws)
            return True
        return False

    # Session start -------------------------------------------------------------------------------

    async def hello(self, hello: p.Hello) -> None:
        server, store = self.server, self.server.store
        if self.sid is not None:
            server.hub.detach(self.sid, self.ws)
        session, token = self.resume(hello)
        is_new = session is None
        if session is None:
            start = hello.lang or hello.page_lang or "zh"
            session, token = store.create_session(lang=start, locked=hello.lang is not None,
                                                  channel=hello.channel)
            store.save_context(session.id, Context(
                lang=start, script=output_script(start, None),
                lang_locked=hello.lang is not None).model_dump())
            session = store.session(session.id)
        else:
            try:
                store.update_session(session.id, channel=hello.channel)
            except OperationalError:  # a full disk must not keep a visitor from history
                log.warning("could not record the channel", extra={"session": session.id})
        assert session is not None and token is not None
        self.sid = session.id
        self.send(f.Welcome(session=token, lang=session.lang, locked=session.lang_locked,
                            state=session.state, last_seq=session.last_seq,
                            expires_at=expires_at(session, server.settings.session_ttl_s),
                            # models still loading after a (re)start: the client says the
                            # assistant is starting; `ready` follows once it answers
                            starting=None if server.ready.is_set() else True))
        if not is_new:
            for event in store.events(session.id, hello.last_seq):
                server.hub.send_stored(self.ws, event)
        server.hub.attach(session.id, self.ws, self.ip)
        server.handoff.on_visitor_online(session.id)
        if is_new:
            await self.greet(session.id)
        else:
            self.answer_unanswered(session)

    def resume(self, hello: p.Hello) -> tuple[SessionInfo | None, str | None]:
        store = self.server.store
        if hello.transfer:
            sid = store.consume_transfer(hello.transfer)
            if sid is None:
                self.error(p.ProtocolError("bad_transfer",
                                           "This link has expired or was already used."))
                return None, None
            # The phone takes the conversation over: other tabs are told, detached (they can
            # neither read nor send any more) and lose the token.
            self.server.hub.push_now(sid, f.Moved(channel=hello.channel))
            self.server.hub.detach_all(sid)
            return store.session(sid), store.rotate_token(sid)
        if hello.session:
            session = store.session_by_token(hello.session)
            if session is None:
                self.error(p.ProtocolError("unknown_session",
                                           "That conversation has expired; starting a new one."))
                return None, None
            return session, hello.session
        return None, None

    async def greet(self, sid: str) -> None:
        server = self.server
        ctx = Context(**server.store.context(sid))
        await server.hub.emit(sid, f.State(state="bot"))
        for reply in greet(ctx):
            await server.hub.emit(sid, reply)

    def answer_unanswered(self, session: SessionInfo) -> None:
        """After a crash a stored message may lack its answer: answer it now, once."""
        if session.state != "bot":
            return
        last = self.server.store.events(session.id, max(0, session.last_seq - 1))
        if last and last[-1]["type"] == "visitor":
            self.server.spawn(self.server.answer(session.id, last[-1]))

    # Conversation --------------------------------------------------------------------------------

    async def message(self, message: p.Message) -> None:
        server, sid = self.server, self.sid
        assert sid is not None
        stored = server.store.event_by_client_id(sid, message.id)
        if stored is not None:  # a resend: same ack, nothing new
            return self.send(f.Ack(id=message.id, seq=stored["seq"]))
        session = server.store.session(sid)
        assert session is not None
        if session.state == "closed":
            await server.hub.set_state(sid, "bot")  # writing again reopens the conversation
            session = server.store.session(sid)
            assert session is not None
        event = await server.hub.emit(
            sid, f.Visitor(id=message.id, text=message.text), client_id=message.id)
        self.send(f.Ack(id=message.id, seq=event["seq"]))
        server.metrics.messages.labels(channel=session.channel).inc()
        if session.state in ("queued", "agent"):
            await server.handoff.on_visitor_event(sid, event)
        elif not await server.handoff.on_ticket_query(sid, message.text, self.ip):
            server.spawn(server.answer(sid, event))

    async def lang(self, message: p.Lang) -> None:
        sid = self.sid
        assert sid is not None
        self.send(f.Lang(lang=message.lang, locked=message.lang is not None))
        session = self.server.store.session(sid)

        def switch(ctx: Context) -> Outcome:
            was_locked, was_lang = ctx.lang_locked, ctx.lang
            ctx = ctx.model_copy(update={"lang_locked": message.lang is not None})
            if message.lang is not None:
                script = output_script(message.lang, ctx.script)
                ctx = ctx.model_copy(update={"lang": message.lang, "script": script})
            # Confirm a change only: the same choice sent again (a second press, a reload
            # re-sending this browser's choice) says nothing.
            changed = not was_locked or was_lang != message.lang
            replies = [say(ctx, "lang_set")] if (
                changed and message.lang and session and session.state == "bot") else []
            return Outcome(replies, None, ctx, {})

        await self.server.with_context(sid, switch)

    async def feedback(self, message: p.Feedback) -> None:
        sid = self.sid
        assert sid is not None
        self.server.store.add_feedback(sid, message.seq, message.value)
        await self.server.with_context(sid, lambda ctx: feedback(ctx, message.value))

    async def rating(self, message: p.Rating) -> None:
        sid = self.sid
        assert sid is not None
        await self.server.handoff.on_rating(sid, message.score, message.comment)
        self.send(f.Rated(score=message.score))
        await self.system_text(sid, "rated")

    async def close(self, message: p.Close) -> None:
        sid = self.sid
        assert sid is not None
        session = self.server.store.session(sid)
        if session is None or session.state == "closed":
            return
        if session.state in ("queued", "agent"):
            await self.server.handoff.on_close(sid)
        await self.server.hub.set_state(sid, "closed")
        await self.system_text(sid, "closed")

    async def system_text(self, sid: str, key: str) -> None:
        session = self.server.store.session(sid)
        lang = (session.lang if session and session.lang else "zh")
        await self.server.hub.reply(sid, text(key, lang), sender="system", lang=lang,
                                    kind="notice")

    async def transfer(self, message: p.TransferRequest) -> None:
        sid = self.sid
        assert sid is not None
        settings = self.server.settings
        token = self.server.store.create_transfer(sid, settings.transfer_ttl_s)
        base = self.server.base_url(self.ws.request)
        self.send(f.Transfer(token=token, url=f"{base}/m?t={token}", qr=f"/qr.svg?t={token}",
                             expires_in=settings.transfer_ttl_s))

    async def typing(self, message: p.Typing) -> None:
        sid = self.sid
        assert sid is not None
        session = self.server.store.session(sid)
        if session is not None and session.state == "agent":
            await self.server.handoff.on_visitor_typing(sid, message.on)
