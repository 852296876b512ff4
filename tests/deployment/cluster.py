"""Two server nodes (real subprocesses, with their models) on one PostgreSQL database behind a
real nginx (tests/deployment/nginx.py), and the clients the deployment tests drive them with.

The clients connect from 127.0.0.2 and up (loopback is all of 127/8); nginx reaches the nodes
from 127.0.0.1, the nodes' trusted proxy.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.conftest import READY_TIMEOUT_S, ServerProcess, WsClient, free_port
from tests.deployment.nginx import Nginx
from tests.handoff.helpers import AgentClient, add_agent, waiting_ids


@contextlib.contextmanager
def two_nodes(url: str, start_module_server, tmp: Path, agents: tuple[str, ...] = ("mei",),
              **env: str) -> Iterator[tuple[Nginx, list[ServerProcess]]]:
    """Two nodes on the database at ``url`` (trusting 127.0.0.1 as their proxy), an agent
    account for each name in ``agents``, and nginx in front of both nodes."""
    env = {"CHAT_DATABASE_URL": url, "CHAT_TRUSTED_PROXIES": '["127.0.0.1"]', **env}
    nodes = [start_module_server(wait=False, **env) for _ in range(2)]
    for node in nodes:
        node.wait_ready(READY_TIMEOUT_S)  # a cold cache builds the models first
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHAT_DATABASE_URL", url)  # the accounts CLI's database
        for name in agents:
            add_agent(nodes[0].data_dir, name, name=name.title(), queues="*", langs="zh,en",
                      max_chats=5)
    proxy = Nginx(tmp, [n.port for n in nodes], port=free_port(), http_port=free_port()).start()
    try:
        yield proxy, nodes
    finally:
        proxy.stop()


@contextlib.asynccontextmanager
async def through_nginx(proxy: Nginx, client_ip: str, **headers: str) -> AsyncIterator[WsClient]:
    """A visitor's websocket over TLS through nginx, from ``client_ip``."""
    async with connect(proxy.ws_url, ssl=proxy.ssl_context(), open_timeout=10,
                       local_addr=(client_ip, 0), additional_headers=headers) as ws:
        yield WsClient(ws)


@contextlib.asynccontextmanager
async def as_nginx_for(node, client_ip: str) -> AsyncIterator[WsClient]:
    """A socket opened on a node directly from 127.0.0.1, the nodes' trusted proxy, naming
    ``client_ip`` as nginx would: how an address's sockets land on both nodes."""
    async with connect(node.ws_url, open_timeout=10,
                       additional_headers={"X-Forwarded-For": client_ip}) as ws:
        yield WsClient(ws)


def visitor_sockets(node, endpoint: str = "/ws") -> int:
    """How many visitor (or, for ``/agent/ws``, agent) websockets the node holds (/metrics)."""
    _, body, _ = node.get("/metrics")
    found = re.search(rf'^chat_connections\{{endpoint="{endpoint}"\}} (\S+)$', body, re.M)
    return int(float(found.group(1))) if found else 0


def holder_and_other(nodes):
    """The node holding the one visitor socket, and the other node."""
    counts = [visitor_sockets(n) for n in nodes]
    assert sorted(counts) == [0, 1], counts
    return (nodes[0], nodes[1]) if counts[0] else (nodes[1], nodes[0])


@contextlib.asynccontextmanager
async def agent_on(node, username: str = "mei") -> AsyncIterator[AgentClient]:
    agent = await AgentClient.open(node.agent_ws_url)
    await agent.login(username)
    try:
        yield agent
    finally:
        await agent.close()


async def console_through_nginx(proxy: Nginx, client_ip: str = "127.0.0.5") -> AgentClient:
    """An agent console's websocket over TLS through nginx, not logged in."""
    return AgentClient(await connect(proxy.ws_url.replace("/ws", "/agent/ws"),
                                     ssl=proxy.ssl_context(), open_timeout=10,
                                     local_addr=(client_ip, 0)))


@contextlib.asynccontextmanager
async def agent_through_nginx(proxy: Nginx, username: str) -> AsyncIterator[AgentClient]:
    agent = await console_through_nginx(proxy)
    await agent.login(username)
    try:
        yield agent
    finally:
        await agent.close()


def is_reply(text: str):
    return lambda f: f["type"] == "reply" and f.get("text") == text


def is_queued(f: dict) -> bool:
    return f["type"] == "state" and f["state"] == "queued"


async def queue_up(visitor: WsClient) -> dict:
    """The visitor asks for a person: their `queued` state frame."""
    await visitor.send({"type": "message", "id": "p1", "text": "Talk to a person"})
    return await visitor.until(is_queued, timeout=60)


async def claim(visitor: WsClient, agent: AgentClient) -> int:
    """The visitor asks for a person and the agent claims the chat."""
    await queue_up(visitor)
    snapshot = await agent.queues_until(lambda s: bool(waiting_ids(s)), timeout=30)
    chat = max(waiting_ids(snapshot))
    await agent.send(type="claim", chat=chat)
    await agent.expect("chat")
    await visitor.until(lambda f: f["type"] == "state" and f["state"] == "agent")
    return chat


async def agent_sees(agent: AgentClient, chat: int, text: str) -> None:
    frame = await agent.expect("event", chat=chat)
    while frame["event"].get("text") != text:
        frame = await agent.expect("event", chat=chat)
