"""The websocket and HTTP edge: one ``websockets`` server for visitors, agents, pages and probes.

Everything that decides anything lives elsewhere (protocol, dialogue, pipeline, handoff); this
module moves frames between sockets and those parts, and owns start-up and graceful shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from datetime import datetime, timezone
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import qrcode
import qrcode.image.svg
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from bot import protocol as p
from bot.dialogue import Context
from bot.hub import Hub
from bot.metrics import Metrics
from bot.pipeline import Outcome, feedback, greet, say
from bot.worker import ModelWorkers
from bot.ratelimit import IpLimits, TokenBucket, client_ip, parse_networks
from bot.settings import ROOT, Settings
from bot.store import SessionInfo, Store
from bot.texts import text
from handoff.service import HandoffService

log = logging.getLogger(__name__)

STATIC_DIR = ROOT / "widget" / "static"
PAGES = {"/": "portal.html", "/m": "mobile.html", "/widget.js": "widget.js",
         "/favicon.ico": "favicon.ico",
         "/console": "console.html"}
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml",
                 ".png": "image/png", ".json": "application/json", ".ico": "image/x-icon"}


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
        self.hub.on_presence = self.handoff.on_visitor_presence

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
            self.hub.push_now(sid, {"type": "ready"})
        log.info("models loaded", extra={"seconds": round(time.perf_counter() - started, 2)})

    async def run(self, stop: asyncio.Future | None = None) -> None:
        stop = stop if stop is not None else asyncio.get_running_loop().create_future()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
        await self.handoff.start()
        async with serve(
            self.handle, self.settings.host, self.settings.port,
            process_request=self.process_request, max_size=self.settings.max_frame_bytes,
            compression=None, ping_interval=30, ping_timeout=30, close_timeout=5,
            server_header="12367-online",
        ) as server:
            loader = asyncio.create_task(self.load_models())
            log.info("serving", extra={"url": self.base_url(None)})
            print(f"12367 ONLINE serving on {self.base_url(None)}", flush=True)
            await stop
            log.info("shutting down")
            # Stop accepting, tell every client to come back later (1012 = service restart).
            server.close(close_connections=True, code=1012, reason="service restart")
            await server.wait_closed()
            loader.cancel()
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=10)
        if self.workers is not None:
            await asyncio.to_thread(self.workers.shutdown)
        await self.handoff.stop()
        self.store.close()
        log.info("stopped")

    def base_url(self, request: Request | None) -> str:
        if self.settings.public_url:
            return self.settings.public_url.rstrip("/")
        if request is not None and request.headers.get("Host"):
            return f"http://{request.headers['Host']}"
        return f"http://{self.settings.host}:{self.settings.port}"

    # HTTP ----------------------------------------------------------------------------------------

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path in ("/ws", "/agent/ws"):
            return self.admit(connection, request)
        if url.path == "/healthz":
            return http_response(HTTPStatus.OK, "ok\n")
        if url.path == "/readyz":
            ready = self.ready.is_set()
            return http_response(HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE,
                                 "ready\n" if ready else "loading\n")
        if url.path == "/metrics":
            body = self.metrics.render(self.handoff.queue_lengths())
            return http_response(HTTPStatus.OK, body, "text/plain; version=0.0.4; charset=utf-8")
        if url.path == "/qr.svg":
            token = parse_qs(url.query).get("t", [""])[0]
            target = f"{self.base_url(request)}/m" + (f"?t={token}" if token else "")
            return http_response(HTTPStatus.OK, qr_svg(target), "image/svg+xml")
        return self.static(url.path)

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
        return None

    def client_ip(self, peer: str, request: Request) -> str:
        return client_ip(peer, request.headers.get("X-Forwarded-For"), self.proxies)

    def origin_allowed(self, origin: str, host: str | None) -> bool:
        if self.settings.allowed_origins:
            return origin in self.settings.allowed_origins or "*" in self.settings.allowed_origins
        return urlsplit(origin).netloc == host

    # Websockets ----------------------------------------------------------------------------------

    async def handle(self, ws: ServerConnection) -> None:
        endpoint = urlsplit(ws.request.path).path
        ip = self.client_ip(ws.remote_address[0], ws.request)
        self.ip_limits.connect(ip)
        gauge = self.metrics.connections.labels(endpoint=endpoint)
        gauge.inc()
        try:
            if endpoint == "/agent/ws":
                await self.handoff.handle_agent_connection(ws)
            else:
                await VisitorConnection(self, ws, ip).run()
        except ConnectionClosed:
            pass
        finally:
            gauge.dec()
            self.ip_limits.disconnect(ip)

    # Bot turns -----------------------------------------------------------------------------------

    def spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def answer(self, sid: str, event: dict) -> None:
        """Run the pipeline for one visitor message and emit what the bot says."""
        async with self.locks.hold(sid):
            if not self.ready.is_set():  # an answer is coming, once the models are loaded
                await self.hub.push(sid, {"type": "typing", "from": "bot", "on": True})
            await self.ready.wait()
            session = self.store.session(sid)
            if session is None or session.state != "bot":
                return  # an agent took the chat meanwhile: the bot stays silent
            if self.store.replied_after(sid, event["seq"]):
                return  # answered already (a resumed session after a restart)
            await self.hub.push(sid, {"type": "typing", "from": "bot", "on": True})
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
            await self.hub.push(sid, {"type": "typing", "from": "bot", "on": False})
            chosen = outcome.context
            if chosen.lang_locked and (not ctx.lang_locked or chosen.lang != ctx.lang):
                # "English please" typed or pressed is a choice like the widget's switch: the
                # client relabels itself and keeps the lock.
                await self.hub.push(sid, {"type": "lang", "lang": chosen.lang, "locked": True})
            await self.apply(sid, outcome, summary_source=event["text"])

    async def apply(self, sid: str, outcome: Outcome, summary_source: str = "") -> None:
        ctx = outcome.context
        self.store.save_context(sid, ctx.model_dump())
        self.store.update_session(sid, lang=ctx.lang, script=ctx.script,
                                  lang_locked=ctx.lang_locked)
        for reply in outcome.replies:
            await self.hub.emit(sid, reply)
            self.metrics.replies.labels(sender="bot", kind=reply["meta"].get("kind", "")).inc()
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


def qr_svg(data: str) -> bytes:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return image.to_string()


def expires_at(session: SessionInfo, ttl_s: int) -> str:
    moment = datetime.fromtimestamp(session.last_seen + ttl_s, timezone.utc)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


class VisitorConnection:
    """One visitor websocket: hello first, then messages, with rate limits per socket and IP."""

    def __init__(self, server: ChatServer, ws: ServerConnection, ip: str) -> None:
        self.server, self.ws, self.ip = server, ws, ip
        s = server.settings
        self.bucket = TokenBucket(s.conn_rate, s.conn_burst)
        self.sid: str | None = None

    def send(self, frame: dict) -> None:
        self.server.hub.send(self.ws, frame)

    def error(self, err: p.ProtocolError) -> None:
        self.server.metrics.errors.labels(code=err.code).inc()
        self.send(err.frame())

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            async for data in self.ws:
                try:
                    message = p.parse_frame(data, self.server.limits)
                    self.throttle(loop.time(), message)
                    await self.dispatch(message)
                except p.ProtocolError as err:
                    self.error(err)
        finally:
            if self.sid is not None:
                self.server.hub.detach(self.sid, self.ws)

    def throttle(self, now: float, message: p.ClientMessage) -> None:
        wait = max(self.bucket.take(now), self.server.ip_limits.take(self.ip, now))
        if wait > 0:
            extra = {"id": message.id} if isinstance(message, p.Message) else {}
            raise p.ProtocolError("rate_limited", "Too many messages; please slow down.",
                                  retry_after=round(wait, 2), **extra)

    async def dispatch(self, message: p.ClientMessage) -> None:
        if isinstance(message, p.Hello):
            return await self.hello(message)
        if isinstance(message, p.Ping):
            return self.send({"type": "pong"})
        if self.sid is None:
            raise p.ProtocolError("hello_required", "Send a hello frame first.")
        handler = {
            p.Message: self.message, p.Lang: self.lang, p.Feedback: self.feedback,
            p.Rating: self.rating, p.Close: self.close, p.TransferRequest: self.transfer,
            p.Typing: self.typing,
        }[type(message)]
        await handler(message)

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
                lang=start, script="en" if start == "en" else "zh-Hans",
                lang_locked=hello.lang is not None).model_dump())
            session = store.session(session.id)
        else:
            store.update_session(session.id, channel=hello.channel)
        assert session is not None and token is not None
        self.sid = session.id
        self.send({"type": "welcome", "session": token, "lang": session.lang,
                   "locked": session.lang_locked, "state": session.state, "last_seq": session.last_seq,
                   "expires_at": expires_at(session, server.settings.session_ttl_s),
                   # models still loading after a (re)start: the client says the assistant is
                   # starting; {"type":"ready"} follows once it answers
                   **({} if server.ready.is_set() else {"starting": True})})
        if not is_new:
            for event in store.events(session.id, hello.last_seq):
                self.send(event)
        server.hub.attach(session.id, self.ws)
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
            # The phone takes the conversation over: other tabs are told and lose the token.
            self.server.hub.push_now(sid, {"type": "moved", "channel": hello.channel})
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
        await server.hub.emit(sid, {"type": "state", "state": "bot"})
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
            return self.send({"type": "ack", "id": message.id, "seq": stored["seq"]})
        session = server.store.session(sid)
        assert session is not None
        if session.state == "closed":
            await server.hub.set_state(sid, "bot")  # writing again reopens the conversation
            session = server.store.session(sid)
        event = await server.hub.emit(
            sid, {"type": "visitor", "id": message.id, "text": message.text}, client_id=message.id)
        self.send({"type": "ack", "id": message.id, "seq": event["seq"]})
        server.metrics.messages.labels(channel=session.channel).inc()
        if session.state in ("queued", "agent"):
            await server.handoff.on_visitor_event(sid, event)
        elif not await server.handoff.on_ticket_query(sid, message.text, self.ip):
            server.spawn(server.answer(sid, event))

    async def lang(self, message: p.Lang) -> None:
        sid = self.sid
        assert sid is not None
        self.send({"type": "lang", "lang": message.lang, "locked": message.lang is not None})
        session = self.server.store.session(sid)

        def switch(ctx: Context) -> Outcome:
            was_locked, was_lang = ctx.lang_locked, ctx.lang
            ctx = ctx.model_copy(update={"lang_locked": message.lang is not None})
            if message.lang is not None:
                script = "en" if message.lang == "en" else (
                    ctx.script if ctx.script in ("zh-Hant", "yue") else "zh-Hans")
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
        self.server.store.add_rating(sid, message.score, message.comment)
        await self.server.handoff.on_rating(sid, message.score, message.comment)
        self.send({"type": "rated", "score": message.score})
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
        self.send({"type": "transfer", "token": token, "url": f"{base}/m?t={token}",
                   "qr": f"/qr.svg?t={token}", "expires_in": settings.transfer_ttl_s})

    async def typing(self, message: p.Typing) -> None:
        sid = self.sid
        assert sid is not None
        session = self.server.store.session(sid)
        if session is not None and session.state == "agent":
            await self.server.handoff.on_visitor_typing(sid, message.on)
