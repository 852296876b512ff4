"""Shared fixtures: real chat servers on free ports, and a JSON websocket client.

Servers, one way for every test (each in a fresh data dir sharing the built caches):

    start_server(**env)          started for one test, stopped after it
    start_module_server(**env)   stopped after the test module
    start_session_server(**env)  stopped at the end of the run

``env`` are settings as environment variables (``CHAT_CONN_RATE="1"``). A server is a real
``python -m bot serve`` process (``ServerProcess``: SIGTERM, SIGKILL and restart it like
production) unless ``in_process=True``: then ``bot.server.ChatServer`` runs on its own event loop
in a thread of the test process without the models (``InProcessServer``), ready in a fraction of
a second instead of the ~4 s the models take to load; for tests of routes, refusals and limits
that need no answers. The fixture builds the server's parts (store, hub, handoff service) and
passes them in; with ``stand_in=True`` also the bot's answers: the real pipeline with rules for
its two models (tests/pipeline_stand_in.py), so a visitor who asks for a person is handed over
as in production (the handoff tests). ``wait=False`` returns a process before its models are
loaded. The ready-made ones:
``server`` (one test), ``shared_server`` (one module; tests that neither restart nor reconfigure
it), and ``handoff_server`` (tests/handoff/conftest.py, the whole run).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

import postgres_server

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("CHAT_TEST_CACHE", ROOT / "data"))
STORE_FILES = ("chat.sqlite3", "chat.sqlite3-wal", "chat.sqlite3-shm")
# A cold start builds the retrieval index and the NLU model before it is ready.
READY_TIMEOUT_S = 600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "CHAT_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1",
           # One model worker: tests need correctness, not throughput, and start servers often.
           "CHAT_MODEL_WORKERS": "1"}
    env.update(extra)
    return env


def link_caches(data_dir: Path) -> None:
    """Share the built index and NLU model (content-hashed) with a fresh data dir."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if not SHARED_DATA.is_dir():
        return
    for item in SHARED_DATA.iterdir():
        target = data_dir / item.name
        if item.name not in STORE_FILES and not target.exists() and item.is_dir():
            target.symlink_to(item.resolve())


class Endpoints:
    """The addresses of a server on 127.0.0.1:port, and a plain HTTP GET."""

    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def agent_ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/agent/ws"

    def get(self, path: str) -> tuple[int, str, dict[str, str]]:
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as response:
                return response.status, response.read().decode(), dict(response.headers)
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(), dict(err.headers)


class ServerProcess(Endpoints):
    """A real server in a subprocess; start, SIGTERM, SIGKILL and restart it like production."""

    def __init__(self, data_dir: Path, port: int | None = None, **env: str) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.env = server_env(data_dir, **env)
        self.proc: subprocess.Popen | None = None
        self.log = data_dir / "server.log"

    def start(self, timeout: float = READY_TIMEOUT_S, wait: bool = True) -> ServerProcess:
        link_caches(self.data_dir)
        log = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--port", str(self.port),
             "--data-dir", str(self.data_dir)],
            cwd=ROOT, env=self.env, stdout=log, stderr=log,
        )
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"server not ready: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs at all."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM: graceful shutdown."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def restart(self, kill: bool = False) -> ServerProcess:
        self.kill() if kill else self.stop()
        return self.start()


def settings_from_env(env: dict[str, str]) -> dict[str, Any]:
    """``CHAT_CONN_RATE="1"`` -> ``conn_rate=1``: what a server process would read from its
    environment (JSON values such as lists decoded, as pydantic-settings does)."""
    fields: dict[str, Any] = {}
    for name, value in env.items():
        try:
            fields[name.removeprefix("CHAT_").lower()] = json.loads(value)
        except ValueError:
            fields[name.removeprefix("CHAT_").lower()] = value
    return fields


class InProcessServer(Endpoints):
    """``bot.server.ChatServer`` on its own event loop in a thread, without the models, built
    from parts made here.

    The thread (not the test's loop) lets sync and async tests of any fixture scope use it.
    Without ``stand_in`` /readyz stays 503 and a visitor's message is acked but never answered;
    with it the stand-in pipeline answers (ready at once)."""

    def __init__(self, data_dir: Path, port: int | None = None, *, stand_in: bool = False,
                 **env: str) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.stand_in = stand_in
        self.env = env
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping: asyncio.Future | None = None
        self.thread: threading.Thread | None = None
        self.failure: BaseException | None = None
        self.chat: Any = None  # the ChatServer, for tests that drive one of its parts

    def start(self, timeout: float = 30, wait: bool = True) -> InProcessServer:
        """Returns once it answers /healthz (``wait`` changes nothing: no models to wait for)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"chat-{self.port}")
        self.thread.start()
        deadline = time.monotonic() + timeout
        while self.get_or_none("/healthz") != 200:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"in-process server did not start: {self.failure!r}")
            time.sleep(0.02)
        return self

    def get_or_none(self, path: str) -> int | None:
        try:
            return self.get(path)[0]
        except OSError:
            return None

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # shown by start() instead of vanishing with the thread
            self.failure = exc

    async def _serve(self) -> None:
        from bot.hub import Hub
        from bot.server import ChatServer
        from bot.settings import Settings
        from bot.store import Store
        from handoff.service import HandoffService
        from storage.live import open_bus
        from tests.pipeline_stand_in import StandInWorkers

        settings = Settings(**settings_from_env(self.env), host="127.0.0.1", port=self.port,
                            data_dir=self.data_dir)
        self.loop = asyncio.get_running_loop()
        self.stopping = self.loop.create_future()
        store = Store(settings.database, session_ttl_s=settings.session_ttl_s)
        hub = Hub(store, open_bus(settings.database))
        handoff = HandoffService(settings, hub, None, database=hub.database, bus=hub.bus)
        workers = StandInWorkers(handoff.regions()) if self.stand_in else None
        self.chat = ChatServer(settings, store=store, hub=hub, handoff=handoff, workers=workers)
        await self.chat.run(self.stopping, models=workers is not None)

    async def call(self, work: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        """Await ``work()`` on the server's own loop (its parts are not thread-safe)."""
        assert self.loop is not None
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work(), self.loop))

    def stop(self, timeout: float = 20) -> None:
        """Graceful shutdown, as on SIGTERM."""
        if self.loop is None or self.thread is None or not self.thread.is_alive():
            return
        stopping = self.stopping
        assert stopping is not None
        self.loop.call_soon_threadsafe(lambda: stopping.done() or stopping.set_result(None))
        self.thread.join(timeout)


class Servers:
    """Starts servers in fresh data dirs; ``stop_all`` ends them (the fixtures below call it
    when their scope ends)."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.started: list[ServerProcess | InProcessServer] = []

    def __call__(self, *, in_process: bool = False, stand_in: bool = False, wait: bool = True,
                 **env: str) -> Any:
        data_dir = self.tmp_path_factory.mktemp("server") / "data"
        server: ServerProcess | InProcessServer
        if in_process or stand_in:
            server = InProcessServer(data_dir, stand_in=stand_in, **env)
        else:
            server = ServerProcess(data_dir, **env)
        self.started.append(server)
        return server.start(wait=wait)

    def stop_all(self) -> None:
        for server in reversed(self.started):
            server.stop()


@contextlib.contextmanager
def _servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    servers = Servers(tmp_path_factory)
    try:
        yield servers
    finally:
        servers.stop_all()


@pytest.fixture
def start_server(tmp_path_factory):
    """Servers for one test: ``start_server(CHAT_CONN_RATE="1")``."""
    with _servers(tmp_path_factory) as servers:
        yield servers


@pytest.fixture(scope="module")
def start_module_server(tmp_path_factory):
    """Servers for one test module, for a module-scoped fixture of its own settings."""
    with _servers(tmp_path_factory) as servers:
        yield servers


@pytest.fixture(scope="session")
def start_session_server(tmp_path_factory):
    """Servers for the whole run (a session-scoped fixture shared by several modules)."""
    with _servers(tmp_path_factory) as servers:
        yield servers


@pytest.fixture
def server(start_server):
    return start_server()


@pytest.fixture(scope="module")
def shared_server(start_module_server):
    """One server for a whole test module, for tests that do not restart or reconfigure it."""
    return start_module_server()


class WsClient:
    """A websocket client speaking JSON frames, with helpers to wait for a frame."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[dict] = []

    async def send(self, frame: dict | str | bytes) -> None:
        await self.ws.send(frame if isinstance(frame, (str, bytes)) else json.dumps(frame))

    async def recv(self, timeout: float = 30) -> dict:
        frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.seen.append(frame)
        return frame

    async def until(self, pred: Callable[[dict], bool], timeout: float = 30) -> dict:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"no matching frame; seen: {self.seen[-10:]}")
            frame = await self.recv(left)
            if pred(frame):
                return frame

    async def hello(self, session: str | None = None, last_seq: int = 0,
                    lang: str | None = None, **extra: Any) -> dict:
        await self.send({"type": "hello", "session": session, "lang": lang,
                         "last_seq": last_seq, "channel": "web", **extra})
        return await self.until(lambda f: f["type"] == "welcome")

    async def ask(self, text: str, msg_id: str, timeout: float = 60) -> dict:
        """Send a message; return the first bot reply that follows its ack."""
        await self.send({"type": "message", "id": msg_id, "text": text})
        ack = await self.until(lambda f: f["type"] == "ack" and f["id"] == msg_id)
        return await self.until(
            lambda f: f["type"] == "reply" and f["seq"] > ack["seq"] and f["from"] != "visitor",
            timeout)

    async def close(self) -> None:
        await self.ws.close()


@pytest.fixture
def ws_client():
    """``async with ws_client(url) as c:`` opens a WsClient."""

    @contextlib.asynccontextmanager
    async def open_client(url: str, **kwargs: Any):
        async with connect(url, open_timeout=10, **kwargs) as ws:
            yield WsClient(ws)

    return open_client


# Databases -----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def postgres() -> Iterator[postgres_server.PostgresServer]:
    """One throwaway PostgreSQL server for the run (tests/postgres_server.py)."""
    server = postgres_server.start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres: postgres_server.PostgresServer) -> Iterator[str]:
    """An empty database of its own for one test, dropped after it."""
    name = f"t_{os.getpid()}_{next(DATABASE_NUMBERS)}"
    yield postgres.create_database(name)
    postgres.drop_database(name)


DATABASE_NUMBERS = itertools.count()
BACKENDS = ("sqlite", "postgres")


@pytest.fixture(params=BACKENDS)
def database_target(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a test's database lives, once per backend: a SQLite file or a PostgreSQL URL."""
    if request.param == "sqlite":
        return tmp_path / "chat.sqlite3"
    return request.getfixturevalue("postgres_url")
