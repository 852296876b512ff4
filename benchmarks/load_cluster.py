"""The servers under load for benchmarks/load.py: N chat nodes (real ``python -m bot serve``
processes) on SQLite or on one shared PostgreSQL database, a bare websockets echo server, agent
accounts, and probes reading each node's memory (server process and its model workers) and CPU.

Nodes, PostgreSQL and accounts are started with the tests' own helpers (tests/conftest.py,
tests/postgres_server.py, tests/handoff/helpers.py): one way to run a node, here and in the tests.
Visitors reach the nodes directly, round-robin over their ports (no load balancer in between).
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # tests/conftest.py imports postgres_server by bare name
from tests import postgres_server  # noqa: E402
from tests.conftest import READY_TIMEOUT_S, ServerProcess  # noqa: E402
from tests.handoff.helpers import AgentClient, add_agent  # noqa: E402

ECHO_SERVER = """
import asyncio, sys
from websockets.asyncio.server import serve
async def echo(ws):
    async for message in ws:
        await ws.send(message)
async def main():
    async with serve(echo, "127.0.0.1", int(sys.argv[1]), compression=None):
        print("ready", flush=True)
        await asyncio.Future()
asyncio.run(main())
"""
# The benchmark's visitors all come from 127.0.0.1: the per-address limits would refuse them.
UNLIMITED = {"CHAT_MAX_CONNS_PER_IP": "100000", "CHAT_IP_RATE": "100000", "CHAT_IP_BURST": "100000",
             "CHAT_LOG_LEVEL": "WARNING"}
AGENT = "loadagent"


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Probe:
    """A process and its descendants (a node's model workers, PostgreSQL's backends)."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)

    def _tree(self) -> list[psutil.Process]:
        return [self.proc, *self.proc.children(recursive=True)]

    def rss(self) -> tuple[int, int]:
        """(the process's own RSS, the whole tree's), bytes; processes that ended count 0."""
        own, total = 0, 0
        for proc in self._tree():
            with contextlib.suppress(psutil.NoSuchProcess):
                rss = proc.memory_info().rss
                total += rss
                own = rss if proc is self.proc else own
        return own, total

    def largest_child_rss(self) -> int:
        """The RSS of the largest descendant (a node's busiest model worker), bytes."""
        sizes = [0]
        for proc in self._tree()[1:]:
            with contextlib.suppress(psutil.NoSuchProcess):
                sizes.append(proc.memory_info().rss)
        return max(sizes)

    def cpu_seconds(self) -> tuple[float, float]:
        """(the process's own CPU time, the whole tree's), seconds."""
        own, total = 0.0, 0.0
        for proc in self._tree():
            with contextlib.suppress(psutil.NoSuchProcess):
                times = proc.cpu_times()
                total += times.user + times.system
                own = times.user + times.system if proc is self.proc else own
        return own, total


@dataclass
class Usage:
    """CPU used over a run, in % of one core, by each side on the shared machine."""

    client: float
    servers: float  # the nodes' server processes (event loops) alone
    nodes: float  # with their model workers
    postgres: float
    machine: float  # every process of the machine, other users' included, in % of one core


class UsageMeter:
    def __init__(self, nodes: list[Probe], postgres: Probe | None) -> None:
        self.nodes, self.postgres = nodes, postgres

    def _read(self) -> tuple[float, ...]:
        own = resource.getrusage(resource.RUSAGE_SELF)
        machine = psutil.cpu_times()
        nodes = [n.cpu_seconds() for n in self.nodes]
        return (time.monotonic(), own.ru_utime + own.ru_stime,
                sum(server for server, _ in nodes), sum(total for _, total in nodes),
                self.postgres.cpu_seconds()[1] if self.postgres else 0.0,
                machine.user + machine.system + machine.nice + machine.softirq + machine.irq)

    @contextlib.contextmanager
    def measure(self) -> Iterator[list[Usage]]:
        """``with meter.measure() as usage:`` ... ``usage[0]`` once the block has ended."""
        found: list[Usage] = []
        start = self._read()
        yield found
        end = self._read()
        wall = end[0] - start[0]
        pct = [round(100 * (b - a) / wall, 1) for a, b in zip(start[1:], end[1:], strict=True)]
        found.append(Usage(*pct))


@dataclass
class Cluster:
    """Running nodes (and PostgreSQL when used); ``ws_urls`` in the order visitors use them."""

    nodes: list[ServerProcess]
    postgres: postgres_server.PostgresServer | None
    echo: subprocess.Popen
    echo_port: int
    probes: list[Probe] = field(default_factory=list)

    @property
    def ws_urls(self) -> list[str]:
        return [node.ws_url for node in self.nodes]

    @property
    def echo_url(self) -> str:
        return f"ws://127.0.0.1:{self.echo_port}"

    def meter(self) -> UsageMeter:
        return UsageMeter(self.probes, self.postgres_probe())

    def postgres_probe(self) -> Probe | None:
        if self.postgres is None:
            return None
        pid = int((self.postgres.root / "data" / "postmaster.pid").read_text().split()[0])
        return Probe(pid)


def free_port() -> int:
    return postgres_server.free_port()


def start_chat_server(port: int, data_dir: Path, workers: int) -> subprocess.Popen:
    """One node on SQLite in ``data_dir``, ready (for the other benchmarks' single server)."""
    server = ServerProcess(data_dir, port, **UNLIMITED, CHAT_MODEL_WORKERS=str(workers)).start()
    assert server.proc is not None
    return server.proc


def start_echo_server(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", ECHO_SERVER, str(port)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


@contextlib.contextmanager
def cluster(backend: str, nodes: int, workers: int, agents: int) -> Iterator[Cluster]:
    """``nodes`` chat nodes with ``workers`` model workers each, an account for the agents, and
    the echo server; everything stopped and deleted at the end."""
    if backend == "sqlite" and nodes != 1:
        raise SystemExit("--nodes > 1 needs --backend postgres (nodes share one database)")
    with tempfile.TemporaryDirectory(prefix="chat-load-") as tmp, contextlib.ExitStack() as stack:
        env = {**UNLIMITED, "CHAT_MODEL_WORKERS": str(workers)}
        pg = None
        if backend == "postgres":
            pg = postgres_server.start()
            stack.callback(pg.stop)
            env["CHAT_DATABASE_URL"] = pg.create_database("load")
        servers = [ServerProcess(Path(tmp) / f"node{i}" / "data", free_port(), **env)
                   for i in range(nodes)]
        for server in servers:
            stack.callback(server.stop)
            server.start(wait=False)
        for server in servers:
            server.wait_ready(READY_TIMEOUT_S)
        _add_agent_accounts(servers[0].data_dir, env.get("CHAT_DATABASE_URL"), agents)
        echo_port = free_port()
        echo = start_echo_server(echo_port)
        stack.callback(echo.wait, 10)
        stack.callback(echo.terminate)
        yield Cluster(servers, pg, echo, echo_port, [Probe(s.proc.pid) for s in servers if s.proc])


def _add_agent_accounts(data_dir: Path, database_url: str | None, count: int) -> None:
    with pytest.MonkeyPatch.context() as patch:
        if database_url:
            patch.setenv("CHAT_DATABASE_URL", database_url)  # the accounts CLI's database
        for i in range(count):
            add_agent(data_dir, f"{AGENT}{i}", name=f"Load agent {i}", queues="*", langs="zh,en",
                      max_chats=5)


@dataclass
class AgentsOnline:
    """Agents logged in and idle: every queue change is broadcast to their consoles."""

    frames: int = 0
    sockets: list[ClientConnection] = field(default_factory=list)


@contextlib.asynccontextmanager
async def agents_online(urls: list[str], count: int) -> AsyncIterator[AgentsOnline]:
    """``count`` consoles, round-robin over the nodes, reading (and dropping) every frame."""
    online = AgentsOnline()
    readers = []
    for i in range(count):
        agent = AgentClient(await connect(urls[i % len(urls)].replace("/ws", "/agent/ws"),
                                          open_timeout=30, max_size=None))
        await agent.login(f"{AGENT}{i}")
        online.sockets.append(agent.ws)
        readers.append(asyncio.create_task(_drain(agent.ws, online)))
    try:
        yield online
    finally:
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*(ws.close() for ws in online.sockets), return_exceptions=True)


async def _drain(ws: ClientConnection, online: AgentsOnline) -> None:
    async for _ in ws:
        online.frames += 1
