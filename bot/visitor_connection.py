"""One visitor websocket: hello first (a new conversation, a resume or a phone taking over), the
replay of what the tab missed, then its frames: messages, language, feedback, rating, closing,
transfer to a phone, typing. Rate limits per socket and IP apply to every frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.server import ServerConnection

from bot import frames as f
from bot import protocol as p
from bot.bot_turn import BotTurns
from bot.dialogue import Context
from bot.http_edge import base_url
from bot.hub import Hub
from bot.metrics import Metrics
from bot.pipeline import Outcome, feedback, greet, say
from bot.settings import Settings
from bot.store import SessionInfo, Store
from bot.texts import text
from conversation.channel import Notice
from conversation.events import Visitor
from conversation.lifecycle import Reopen
from conversation.owner import Rejected
from handoff.service import HandoffService
from runtime.frames import Frame, Pong
from runtime.language import output_script
from runtime.ratelimit import IpLimits, TokenBucket
from storage.database import OperationalError, StorageError

log = logging.getLogger(__name__)
# When a frame's database work failed (PostgreSQL restarting): about when to try again.
UNAVAILABLE_RETRY_S = 1.0


@dataclass(frozen=True)
class VisitorParts:
    """What every visitor socket shares, built once by the server."""

    settings: Settings
    store: Store
    hub: Hub
    metrics: Metrics
    handoff: HandoffService
    turns: BotTurns
    ip_limits: IpLimits
    limits: p.Limits
    ready: asyncio.Event  # set once the models answer
    spawn: Callable[[Coroutine[Any, Any, None]], None]  # a task the server awaits at shutdown


def expires_at(session: SessionInfo, ttl_s: int) -> str:
    moment = datetime.fromtimestamp(session.last_seen + ttl_s, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def unavailable(message: p.ClientMessage, exc: StorageError) -> p.ProtocolError:
    """The database did not answer (restarting, connection lost): the frame is refused with an
    error naming the message, so the client knows it was not sent; the socket stays open."""
    log.warning("frame refused: database unavailable", extra={"error": str(exc)[:200]})
    extra = {"id": message.id} if isinstance(message, p.Message) else {}
    return p.ProtocolError("unavailable", "The service is briefly unavailable; please try again.",
                           retry_after=UNAVAILABLE_RETRY_S, **extra)


class VisitorConnection:
    """One visitor websocket: hello first, then messages, with rate limits per socket and IP."""

    def __init__(self, parts: VisitorParts, ws: ServerConnection, ip: str) -> None:
        self.parts, self.ws, self.ip = parts, ws, ip
        s = parts.settings
        self.bucket = TokenBucket(s.conn_rate, s.conn_burst)
        self.bucket.updated = asyncio.get_running_loop().time()
        self.refused = 0
        self.max_refused = max(100, 5 * s.conn_burst)
        self.sid: str | None = None

    def send(self, frame: Frame) -> None:
        self.parts.hub.send(self.ws, frame)

    def error(self, err: p.ProtocolError) -> None:
        self.parts.metrics.errors.labels(code=err.code).inc()
        self.send(err.frame())

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        # A socket that never says hello is closed (it would hold a connection slot forever).
        deadline = loop.call_later(self.parts.settings.hello_timeout_s, self.hello_timeout)
        try:
            async for data in self.ws:
                now = loop.time()
                try:
                    try:
                        message = p.parse_frame(data, self.parts.limits)
                    except p.ProtocolError:
                        self.throttle(now, None)  # invalid frames cost this connection's tokens
                        raise
                    self.throttle(now, message)
                    try:
                        await self.dispatch(message)
                    except StorageError as exc:
                        raise unavailable(message, exc) from exc
                except p.ProtocolError as err:
                    self.error(err)
                if self.refused > self.max_refused:
                    # Still flooding after this many refusals in a row: not a client we can help.
                    await self.ws.close(1008, "rate limit")
                    return
        finally:
            deadline.cancel()
            if self.sid is not None:
                self.parts.hub.detach(self.sid, self.ws)
                if not self.parts.hub.is_online(self.sid):
                    self.went_offline(self.sid)

    def went_offline(self, sid: str) -> None:
        try:
            self.parts.handoff.on_visitor_offline(sid)
        except StorageError:  # the database is away: the queue is tidied when it is back
            log.warning("visitor offline not recorded", extra={"session": sid}, exc_info=True)

    def hello_timeout(self) -> None:
        if self.sid is None:
            self.parts.spawn(self.ws.close(1008, "hello timeout"))

    def throttle(self, now: float, message: p.ClientMessage | None) -> None:
        """The connection's own bucket first: a refused or invalid frame never touches the
        allowance that other connections from the same IP share. Valid frames then take from
        the IP's bucket too."""
        wait = self.bucket.take(now)
        if wait == 0 and message is not None:
            wait = self.parts.ip_limits.take(self.ip, now)
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
        if isinstance(message, p.Message) and self.sid is not None:
            return await self.message(message)  # reads the session with its resend check
        if self.sid is not None and self.lost():
            self.sid = None
        if self.sid is None:
            raise p.ProtocolError("hello_required", "Send a hello frame first.")
        handlers: dict[type, Callable[[Any], Awaitable[None]]] = {
            p.Lang: self.lang, p.Feedback: self.feedback,
            p.Rating: self.rating, p.Close: self.close, p.TransferRequest: self.transfer,
            p.Typing: self.typing,
        }
        handler = handlers[type(message)]
        await handler(message)

    def lost(self) -> bool:
        """This tab has lost its conversation: it moved to a phone, or the retention purge
        removed it (``python -m bot purge`` runs in another process: the store says so)."""
        assert self.sid is not None
        if not self.parts.hub.is_attached(self.sid, self.ws):
            return True
        return self.gone(self.parts.store.session(self.sid))

    def gone(self, session: SessionInfo | None) -> bool:
        """``session``, just read, was purged: this tab lets go of it."""
        assert self.sid is not None
        if session is None or session.purged_at is not None:
            self.parts.hub.detach(self.sid, self.ws)
            return True
        return False

    # Session start -------------------------------------------------------------------------------

    async def hello(self, hello: p.Hello) -> None:
        parts, store = self.parts, self.parts.store
        if self.sid is not None:
            parts.hub.detach(self.sid, self.ws)
        session, token = self.resume(hello)
        is_new = session is None
        if session is None:
            start = hello.lang or hello.page_lang or "zh"
            session, token = store.create_session(lang=start, locked=hello.lang is not None,
                                                  channel=hello.channel)
            store.save_context(session.id, Context(
                lang=start, script=output_script(start, hello.page_script),
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
                            expires_at=expires_at(session, parts.settings.session_ttl_s),
                            # models still loading after a (re)start: the client says the
                            # assistant is starting; `ready` follows once it answers
                            starting=None if parts.ready.is_set() else True))
        seen = session.last_seq
        if not is_new:
            for event in store.transcript(session.id, hello.last_seq):
                parts.hub.send_stored(self.ws, event)
                seen = max(seen, event.seq)  # another process may have stored one meanwhile
        parts.hub.attach(session.id, self.ws, self.ip, seen=seen)
        parts.handoff.on_visitor_online(session.id)
        if is_new:
            await self.greet(session.id)
        else:
            self.answer_unanswered(session)

    def resume(self, hello: p.Hello) -> tuple[SessionInfo | None, str | None]:
        store = self.parts.store
        if hello.transfer:
            sid = store.consume_transfer(hello.transfer)
            if sid is None:
                self.error(p.ProtocolError("bad_transfer",
                                           "This link has expired or was already used."))
                return None, None
            # The phone takes the conversation over: other tabs are told, detached (they can
            # neither read nor send any more) and lose the token.
            self.parts.hub.push_now(sid, f.Moved(channel=hello.channel))
            self.parts.hub.detach_all(sid)
            return store.session(sid), store.rotate_token(sid)
        if hello.session:
            session = store.session_by_token(hello.session)
            if session is None:
                self.error(p.ProtocolError("unknown_session",
                                           "That conversation has expired; starting a new one."))
                return None, None
            # A new token each time: a copy of the old one (a shared computer, a leaked link)
            # resumes nothing once the visitor has come back, on whichever node.
            return session, store.rotate_token(session.id)
        return None, None

    async def greet(self, sid: str) -> None:
        parts = self.parts
        ctx = Context(**parts.store.context(sid))
        await parts.hub.emit(sid, f.State(state="bot"))
        for reply in greet(ctx):
            await parts.hub.emit(sid, reply)

    def answer_unanswered(self, session: SessionInfo) -> None:
        """After a crash a stored message may lack its answer: answer it now, once."""
        if session.state != "bot":
            return
        last = self.parts.store.transcript(session.id, max(0, session.last_seq - 1))
        if last and isinstance(last[-1].event, Visitor):
            self.parts.spawn(self.parts.turns.answer(session.id, last[-1], self.ip))

    # Conversation --------------------------------------------------------------------------------

    async def message(self, message: p.Message) -> None:
        parts, sid = self.parts, self.sid
        assert sid is not None
        start = parts.store.message_start(sid, message.id) if parts.hub.is_attached(
            sid, self.ws) else None
        if start is None or self.gone(start[0]):  # as ``lost`` says for the other frames
            self.sid = None
            raise p.ProtocolError("hello_required", "Send a hello frame first.")
        session, stored = start
        if stored is not None:  # a resend: same ack, nothing new
            return self.send(f.Ack(id=message.id, seq=stored.seq))
        if session.state == "closed":  # writing again reopens the conversation
            with contextlib.suppress(Rejected):  # reopened by a message sent at the same time
                await parts.handoff.conversations.apply(sid, Reopen())
            reopened = parts.store.session(sid)
            assert reopened is not None
            session = reopened
        event = await parts.hub.emit(
            sid, Visitor(id=message.id, text=message.text), client_id=message.id)
        self.send(f.Ack(id=message.id, seq=event.seq))
        parts.metrics.messages.labels(channel=session.channel).inc()
        if session.state in ("queued", "agent"):
            await parts.handoff.on_visitor_event(sid, event)
        elif not await parts.handoff.on_ticket_query(sid, message.text, self.ip):
            parts.spawn(parts.turns.answer(sid, event, self.ip))

    async def lang(self, message: p.Lang) -> None:
        sid = self.sid
        assert sid is not None
        self.send(f.Lang(lang=message.lang, locked=message.lang is not None))
        session = self.parts.store.session(sid)

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

        await self.parts.turns.with_context(sid, switch)

    async def feedback(self, message: p.Feedback) -> None:
        sid = self.sid
        assert sid is not None
        self.parts.store.add_feedback(sid, message.seq, message.value)
        await self.parts.turns.with_context(sid, lambda ctx: feedback(ctx, message.value))

    async def rating(self, message: p.Rating) -> None:
        sid = self.sid
        assert sid is not None
        await self.parts.handoff.on_rating(sid, message.score, message.comment)
        self.send(f.Rated(score=message.score))
        await self.system_text(sid, "rated")

    async def close(self, message: p.Close) -> None:
        sid = self.sid
        assert sid is not None
        session = self.parts.store.session(sid)
        if session is None or session.state == "closed":
            return
        await self.parts.handoff.on_close(sid)
        await self.system_text(sid, "closed")

    async def system_text(self, sid: str, key: str) -> None:
        lang = self.parts.hub.language(sid).lang
        await self.parts.hub.say(sid, Notice(text(key, lang), kind="notice", lang=lang))

    async def transfer(self, message: p.TransferRequest) -> None:
        sid = self.sid
        assert sid is not None
        settings = self.parts.settings
        token = self.parts.store.create_transfer(sid, settings.transfer_ttl_s)
        base = base_url(settings, self.ws.request)
        self.send(f.Transfer(token=token, url=f"{base}/m?t={token}", qr=f"/qr.svg?t={token}",
                             expires_in=settings.transfer_ttl_s))

    async def typing(self, message: p.Typing) -> None:
        sid = self.sid
        assert sid is not None
        session = self.parts.store.session(sid)
        if session is not None and session.state == "agent":
            await self.parts.handoff.on_visitor_typing(sid, message.on)
