"""Shared fixtures: a real ``python -m bot serve`` process on a free port, and a JSON ws client."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("CHAT_TEST_CACHE", ROOT / "data"))
STORE_FILES = ("chat.sqlite3", "chat.sqlite3-wal", "chat.sqlite3-shm")


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


class ServerProcess:
    """A real server in a subprocess; start, SIGTERM, SIGKILL and restart it like production."""

    def __init__(self, data_dir: Path, port: int | None = None, **env: str) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.env = server_env(data_dir, **env)
        self.proc: subprocess.Popen | None = None
        self.log = data_dir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def agent_ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/agent/ws"

    def start(self, timeout: float = 180) -> ServerProcess:
        link_caches(self.data_dir)
        log = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--port", str(self.port),
             "--data-dir", str(self.data_dir)],
            cwd=ROOT, env=self.env, stdout=log, stderr=log,
        )
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

    def get(self, path: str) -> tuple[int, str, dict[str, str]]:
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as response:
                return response.status, response.read().decode(), dict(response.headers)
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(), dict(err.headers)


@pytest.fixture
def server(tmp_path: Path):
    proc = ServerProcess(tmp_path / "data").start()
    yield proc
    proc.stop()


@pytest.fixture
def server_factory(tmp_path: Path):
    """Start servers with extra environment (settings), e.g. server_factory(CHAT_CONN_RATE="1")."""
    started: list[ServerProcess] = []

    def make(**env: str) -> ServerProcess:
        proc = ServerProcess(tmp_path / f"data{len(started)}", **env).start()
        started.append(proc)
        return proc

    yield make
    for proc in started:
        proc.stop()


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
    import contextlib

    @contextlib.asynccontextmanager
    async def open_client(url: str, **kwargs: Any):
        async with connect(url, open_timeout=10, **kwargs) as ws:
            yield WsClient(ws)

    return open_client


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """One server for a whole test module, for tests that do not restart or reconfigure it."""
    proc = ServerProcess(tmp_path_factory.mktemp("shared") / "data").start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    """A server with flood limits raised, so fuzzing tests the parser, not the rate limiter."""
    proc = ServerProcess(tmp_path_factory.mktemp("fuzz") / "data", CHAT_IP_RATE="1000",
                         CHAT_IP_BURST="1000", CHAT_CONN_BURST="100").start()
    yield proc
    proc.stop()
