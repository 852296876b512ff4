"""The server's wiring: one ``websockets`` server for visitors, agents, pages and probes.

``ChatServer`` builds (or is given) its collaborators and hands each to the part that uses it:
**bot/http_edge.py** answers HTTP requests, **bot/admission.py** refuses sockets and requests
over the limits, **bot/visitor_connection.py** runs each visitor socket, **bot/bot_turn.py** each
bot answer, **handoff/** each agent socket. Here: start-up, readiness, each socket counted
against its IP while open, the retention purge's timer and graceful shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import threading
import time
from collections.abc import Coroutine
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from bot import frames as f
from bot import protocol as p
from bot.admission import Admission
from bot.appointment_backend import embedded_appointments
from bot.bot_turn import BotTurns
from bot.http_bodies import BodyReadingConnection
from bot.http_edge import HttpEdge, base_url
from bot.hub import Hub
from bot.metrics import Metrics
from bot.presence import SharedPresence
from bot.retention import Policy, purge
from bot.settings import Settings
from bot.shared_limits import LIVE_S, SharedIpLimits
from bot.store import Store
from bot.visitor_connection import VisitorConnection, VisitorParts
from bot.worker import ModelWorkers, Workers, WorkersLost
from handoff.consoles import SharedConsoles
from handoff.service import HandoffService
from runtime.fair_share import FairShare
from runtime.offload import Offload
from runtime.ratelimit import IpLimits
from storage.backends import is_postgres, open_database
from storage.client_limits import ClientLimits
from storage.consoles import AgentConsoles
from storage.live import open_bus
from storage.presence import Presence

log = logging.getLogger(__name__)


def ip_limits_for(settings: Settings) -> IpLimits:
    """One process on SQLite holds every socket: its own counts are the limits. Nodes sharing a
    PostgreSQL database share the limits through it, on a connection of their own."""
    if is_postgres(settings.database):
        return SharedIpLimits(settings.ip_rate, settings.ip_burst, settings.max_conns_per_ip,
                              ClientLimits(open_database(settings.database)))
    return IpLimits(settings.ip_rate, settings.ip_burst, settings.max_conns_per_ip)


class ChatServer:
    """Parts not given are built from ``settings`` as in production; tests pass their own (a
    store, hub, worker pool, handoff service or IP limits) to start a server in-process. A
    worker pool not given is started by ``run`` (unless ``models=False``). Given or built, the
    server owns its parts: shutdown stops the worker pool and handoff service and closes the
    store."""

    def __init__(self, settings: Settings, *, store: Store | None = None, hub: Hub | None = None,
                 workers: Workers | None = None, handoff: HandoffService | None = None,
                 ip_limits: IpLimits | None = None) -> None:
        self.settings = settings
        self.store = store if store is not None else Store(
            settings.database, session_ttl_s=settings.session_ttl_s)
        # Several processes on one PostgreSQL database tell each other what they stored.
        self.hub = hub if hub is not None else Hub(self.store, open_bus(settings.database))
        self.handoff = handoff if handoff is not None else HandoffService(
            settings, self.hub, None, database=self.hub.database, bus=self.hub.bus)
        self.ip_limits = ip_limits if ip_limits is not None else ip_limits_for(settings)
        if isinstance(self.ip_limits, SharedIpLimits):  # on the same connection and heartbeat
            self.hub.presence = SharedPresence(Presence(self.ip_limits.shared.db),
                                               self.ip_limits.node)
            self.handoff.context.consoles = SharedConsoles(
                AgentConsoles(self.ip_limits.shared.db), self.ip_limits.node, live_s=LIVE_S)
        self.metrics = Metrics()
        self.ready = asyncio.Event()
        self.tasks: set[asyncio.Task] = set()
        self.loader: asyncio.Task | None = None  # loads the models (at start, after a loss)
        self.stopping = False
        # Two turns per model worker at most: one running, one ready to start as it finishes,
        # so a worker never idles between turns, and every other turn waits in the fair share.
        self.turns = BotTurns(self.store, self.hub, self.metrics, self.handoff, self.ready,
                              workers, self.workers_lost,
                              FairShare(slots=2 * settings.model_workers))
        self.admission = Admission(settings, self.ip_limits)
        self.qr_offload = Offload("qr", workers=1, queue=settings.offload_queue, processes=True)
        self.edge = HttpEdge(settings, self.store, self.metrics, self.handoff, self.admission,
                             self.qr_offload, self.readiness,
                             appointments=embedded_appointments(settings, self.store.database))
        self.visitors = VisitorParts(
            settings, self.store, self.hub, self.metrics, self.handoff, self.turns,
            self.ip_limits, p.Limits(max_text_chars=settings.max_text_chars), self.ready,
            self.spawn)
        self.purge_stop = threading.Event()  # set at shutdown: a purge in its thread stops

    # Start-up and shutdown ---------------------------------------------------------------------

    async def load_models(self) -> None:
        """Start the model workers (building the index or NLU model when stale) off the loop. A
        pool that loses a worker while loading (memory short) is replaced after a pause that
        doubles each time, up to a minute."""
        started = time.perf_counter()
        workers = self.turns.workers or ModelWorkers(self.settings, self.handoff.regions(),
                                                     self.settings.model_workers, self.workers_lost)
        self.turns.workers = workers
        pause_s = 1.0
        while True:
            try:
                loaded = await workers.warm_up()
            except Exception as failed:  # never leave the node "loading" for good: try again
                if isinstance(failed, WorkersLost):
                    log.error("model workers lost while loading", extra={"pool": failed.pool})
                else:
                    log.exception("loading the models failed")
                await asyncio.sleep(pause_s)
                pause_s = min(pause_s * 2, 60.0)
                if isinstance(failed, WorkersLost) and workers.replace(failed):
                    self.metrics.workers_lost.inc()
                continue
            if loaded:  # else the pool was replaced while it loaded: load the new one
                break
        self.handoff.retriever = workers.retriever()
        self.ready.set()
        for sid in list(self.hub.connections):
            self.hub.push_now(sid, f.Ready())
        log.info("models loaded", extra={"seconds": round(time.perf_counter() - started, 2)})

    def workers_lost(self, lost: WorkersLost) -> None:
        """A model worker died and took its pool with it: a new pool is started, and the node
        says it is not ready (the load balancer sends new visitors to other nodes; messages here
        wait, as at start-up) until its models have loaded."""
        assert self.turns.workers is not None
        if self.stopping:  # the workers' exits at shutdown (SIGINT reaches them too)
            return
        if self.turns.workers.replace(lost):
            self.metrics.workers_lost.inc()
            self.ready.clear()
            if self.loader is None or self.loader.done():  # one loader: it loads the newest pool
                self.loader = asyncio.create_task(self.load_models())
                self.tasks.add(self.loader)
                self.loader.add_done_callback(self.tasks.discard)

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
        await self.hub.bus.start()
        purger = asyncio.create_task(self.purge_periodically()) if self.purges() else None
        beating = (asyncio.create_task(self.ip_limits.keep_beating())
                   if isinstance(self.ip_limits, SharedIpLimits) else None)
        async with serve(
            self.handle, self.settings.host, self.settings.port,
            process_request=self.edge.process_request, max_size=self.settings.max_frame_bytes,
            compression=None, ping_interval=30, ping_timeout=30, close_timeout=5,
            server_header="12367-online", create_connection=BodyReadingConnection,
        ) as server:
            self.loader = asyncio.create_task(self.load_models() if models else asyncio.sleep(0))
            log.info("serving", extra={"url": base_url(self.settings, None)})
            print(f"12367 ONLINE serving on {base_url(self.settings, None)}", flush=True)
            await stop
            self.stopping = True
            log.info("shutting down")
            # Stop accepting, tell every client to come back later (1012 = service restart).
            server.close(close_connections=True, code=1012, reason="service restart")
            await server.wait_closed()
            self.loader.cancel()
        self.purge_stop.set()
        if purger is not None:
            purger.cancel()
        if beating is not None:
            beating.cancel()
        if isinstance(self.ip_limits, SharedIpLimits):
            self.ip_limits.close()  # its sockets stop counting at once, not after LIVE_S
        if self.tasks:
            if not self.ready.is_set():
                # Turns still waiting for models that will not load now: their messages are
                # stored, and a resumed session is answered on the next start (VisitorConnection).
                for task in self.tasks:
                    task.cancel()
            await asyncio.wait(self.tasks, timeout=10)
        if self.turns.workers is not None:
            await asyncio.to_thread(self.turns.workers.shutdown)
        await self.hub.bus.stop()
        await self.handoff.stop()
        self.qr_offload.shutdown()
        self.store.close()
        log.info("stopped")

    def readiness(self) -> tuple[bool, str]:
        if not self.ready.is_set():
            return False, "loading"
        if not self.hub.bus.connected():  # the database is away (restarting): live events too
            return False, "database unavailable"
        try:  # a full disk cannot store messages: not ready (the load balancer moves visitors)
            free = shutil.disk_usage(self.settings.data_dir).free
        except OSError:
            return False, "data dir unavailable"
        if free < self.settings.min_free_disk_mb * 1024 * 1024:
            return False, "disk full"
        return True, "ready"

    def purges(self) -> bool:
        """Whether the periodic retention purge runs."""
        return self.settings.purge_interval_s > 0

    async def purge_periodically(self) -> None:
        """The retention purge now and every ``CHAT_PURGE_INTERVAL_S``, in a thread with its own
        connection and short transactions: visitors are never kept waiting for it."""
        policy = Policy.from_settings(self.settings)
        while True:
            try:
                report = await asyncio.to_thread(purge, self.settings.database, policy,
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

    # Websockets ----------------------------------------------------------------------------------

    async def handle(self, ws: ServerConnection) -> None:
        request = ws.request
        assert request is not None  # handlers run after the opening handshake
        endpoint = urlsplit(request.path).path
        ip = self.admission.client_ip(ws.remote_address[0], request)
        self.ip_limits.connect(ip)
        gauge = self.metrics.connections.labels(endpoint=endpoint)
        gauge.inc()
        try:
            if endpoint == "/agent/ws":
                await self.handoff.handle_agent_connection(ws, ip)
            else:
                await VisitorConnection(self.visitors, ws, ip).run()
        except ConnectionClosed:
            pass
        finally:
            gauge.dec()
            self.ip_limits.disconnect(ip, asyncio.get_running_loop().time())

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
