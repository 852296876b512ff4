"""The agent websocket (/agent/ws): the frame loop with its rate limit and login deadline, the
login/resume handshake, and the dispatch of each parsed frame to the command that handles it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from websockets.exceptions import ConnectionClosed

from handoff import agent_frames as af
from handoff import agent_protocol as ap
from handoff.agent_protocol import AgentProtocolError, parse
from handoff.auth import AuthError
from handoff.commands import Handler
from handoff.context import UNAUTHORIZED_CLOSE, AgentConn, HandoffContext
from handoff.notifier import Notifier
from handoff.ownership import Ownership
from handoff.store import Agent
from runtime.frames import Error, Pong
from runtime.ratelimit import TokenBucket
from storage.database import StorageError

log = logging.getLogger("handoff")
UNAVAILABLE_RETRY_S = 1.0  # when a frame's database work failed: about when to try again


class AgentConnections:
    def __init__(self, ctx: HandoffContext, notifier: Notifier, ownership: Ownership,
                 commands: dict[str, Handler]) -> None:
        self.ctx = ctx
        self.notifier = notifier
        self.ownership = ownership
        self.handlers: dict[str, Handler] = {
            **commands, ap.Logout.type: self.logout, ap.Accepting.type: self.accepting}

    async def handle(self, ws: Any, ip: str | None = None) -> None:
        conn = AgentConn(ws, ip)
        settings = self.ctx.settings
        loop = asyncio.get_running_loop()
        # Agents type and click faster than visitors: twice the visitor's per-connection limits.
        bucket = TokenBucket(settings.conn_rate * 2, settings.conn_burst * 2)
        bucket.updated = loop.time()

        def login_timeout() -> None:  # a socket that never logs in does not hold a slot forever
            if conn.username is None:
                asyncio.ensure_future(ws.close(1008, "login timeout"))

        deadline = loop.call_later(settings.agent_login_timeout_s, login_timeout)
        try:
            async for raw in ws:
                try:
                    wait = bucket.take(loop.time())
                    if wait > 0:
                        await conn.send(Error(code="rate_limited",
                                              message="Too many frames; please slow down.",
                                              retry_after=round(wait, 2)))
                        continue
                    frame = parse(raw, settings.max_text_chars)
                    await self._dispatch(conn, frame)
                except AgentProtocolError as exc:
                    await conn.send(exc.frame())
                except AuthError as exc:
                    await conn.send(_auth_error(exc))
                    if exc.code == "unauthorized" and conn.username:
                        await ws.close(UNAUTHORIZED_CLOSE, "unauthorized")
                        return
                except ConnectionClosed:
                    raise
                except StorageError:  # the database is away (a restart): nothing was done
                    log.warning("agent frame refused: database unavailable", exc_info=True)
                    await conn.send(Error(code="unavailable", retry_after=UNAVAILABLE_RETRY_S,
                                          message="The service is briefly unavailable; "
                                                  "please try again."))
                except Exception:  # a bug must not cost the agent their connection
                    log.exception("agent frame failed", extra={"agent": conn.username})
                    await conn.send(Error(code="internal",
                                          message="The server could not do that; please try again."))
        except ConnectionClosed:
            pass
        finally:
            deadline.cancel()
            username = self.notifier.drop(conn)
            if username and self.ctx.store is not None:
                self.ctx.db().audit(username, "disconnect")
                await self.notifier.refresh()

    async def _dispatch(self, conn: AgentConn, frame: ap.AgentFrame) -> None:
        if isinstance(frame, ap.Ping):
            await conn.send(Pong())
            return
        if isinstance(frame, ap.Login | ap.Auth):
            await self._authenticate(conn, frame)
            return
        if conn.token_hash is None:
            raise AgentProtocolError("auth_required", "Log in first.")
        # Every action: the token still valid, the agent still enabled.
        agent = self.ctx.authenticator().check(conn.token_hash)
        await self.handlers[frame.type](conn, agent, frame)

    async def _authenticate(self, conn: AgentConn, frame: ap.Login | ap.Auth) -> None:
        ctx = self.ctx
        token: str | None = None
        expires_at: float | None = None
        if isinstance(frame, ap.Login):
            login = await ctx.authenticator().login(frame.username, frame.password, conn.ip)
            agent, th = login.agent, login.token_hash
            token, expires_at = login.token, login.expires_at
        else:
            agent, th = ctx.authenticator().resume(frame.token)
        if conn.username and conn.username != agent.username:
            ctx.conns.get(conn.username, set()).discard(conn)
        conn.username, conn.token_hash = agent.username, th
        ctx.conns.setdefault(agent.username, set()).add(conn)
        if ctx.consoles is not None:  # other nodes may give this agent chats now
            self._take_chats_as_elsewhere(agent.username)
            ctx.consoles.arrived(agent.username, ctx.accepting.get(agent.username, False))
            self.notifier.agent_changed(agent.username)
        self.ownership.back_online(agent.username)
        all_queues = [{"id": q.id, "zh": q.zh, "en": q.en, "kind": q.kind}
                      for q in ctx.table.queues.values()]
        views = self.notifier.views
        await conn.send(af.AuthOk(token=token, expires_at=expires_at, agent=agent.public(),
                                  all_queues=all_queues, hotline=ctx.table.hotline))
        await conn.send(af.Canned(replies=ctx.canned))
        await conn.send(views.tickets_frame(agent))
        for chat in ctx.db().active_chats():
            if chat.status == "agent" and chat.owner == agent.username:
                await conn.send(views.chat_frame(chat))
        await self.notifier.refresh()

    def _take_chats_as_elsewhere(self, username: str) -> None:
        """An agent's first console on this node takes chats if their console on another node
        does: taking chats is the agent's, wherever nginx put each of their consoles."""
        ctx = self.ctx
        if ctx.consoles is not None and username not in ctx.accepting:
            there = ctx.consoles.elsewhere().get(username)
            if there is not None:
                ctx.accepting[username] = there.accepting

    async def logout(self, conn: AgentConn, agent: Agent, frame: ap.Logout) -> None:
        if conn.token_hash is not None:  # always set: _dispatch admits only logged-in sockets
            self.ctx.authenticator().logout(conn.token_hash, agent.username)
        await conn.send(af.LoggedOut())
        await conn.ws.close(1000, "logged out")

    async def accepting(self, conn: AgentConn, agent: Agent, frame: ap.Accepting) -> None:
        self.ctx.accepting[agent.username] = frame.on
        if self.ctx.consoles is not None:
            self.ctx.consoles.accepting(agent.username, frame.on)
            self.notifier.agent_changed(agent.username, frame.on)
        self.ctx.db().audit(agent.username, "accepting", on=frame.on)
        await self.notifier.refresh()


def _auth_error(exc: AuthError) -> Error:
    retry_after = round(exc.retry_after, 1) if exc.retry_after is not None else None
    return Error(code=exc.code, message=exc.message, retry_after=retry_after)
