"""Two server nodes (real subprocesses, with their models) on one PostgreSQL database behind a
real nginx running the sample config of docs/deployment.md, TLS included: plain HTTP is
redirected; Origin is checked against the Host nginx passes on; a visitor through nginx and an
agent on the other node converse live; an agent's console works through nginx; per-IP limits
count the client nginx names, not nginx; when the visitor's node is killed, the visitor
reconnects through nginx to the surviving node and misses nothing.

The clients connect from 127.0.0.2 to 127.0.0.5 (loopback is all of 127/8); nginx reaches the
nodes from 127.0.0.1, the nodes' trusted proxy. The nodes serve the whole module; the test that
kills one runs last.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.deployment.cluster import (
    agent_on,
    agent_sees,
    as_nginx_for,
    claim,
    console_through_nginx,
    holder_and_other,
    is_reply,
    through_nginx,
    two_nodes,
)
from tests.services.test_api_contract import CHECKS, NOTHING_TO_NEGATE

pytestmark = pytest.mark.timeout(180)
MAX_CONNS_PER_IP = 2


@pytest.fixture(scope="module")
def cluster(postgres, start_module_server, tmp_path_factory):
    """Two nodes on one database, an agent account, and nginx in front of both nodes."""
    url = postgres.create_database("deployment")
    with two_nodes(url, start_module_server, tmp_path_factory.mktemp("nginx"),
                   CHAT_MAX_CONNS_PER_IP=str(MAX_CONNS_PER_IP)) as cluster:
        yield cluster


def test_plain_http_is_redirected_to_https(cluster):
    proxy, _ = cluster
    connection = http.client.HTTPConnection("127.0.0.1", proxy.http_port, timeout=10)
    connection.request("GET", "/ws?x=1", headers={"Host": "chat.example.com"})
    response = connection.getresponse()
    assert response.status == 301
    assert response.getheader("Location") == "https://chat.example.com/ws?x=1"


async def test_the_page_through_nginx_may_open_its_websocket_and_another_site_not(cluster):
    proxy, _ = cluster
    own = f"https://127.0.0.1:{proxy.port}"  # the nodes have no public URL: Host decides
    async with through_nginx(proxy, "127.0.0.4", Origin=own) as visitor:
        assert (await visitor.hello(lang="en"))["type"] == "welcome"
    with pytest.raises(InvalidStatus) as refused:
        async with through_nginx(proxy, "127.0.0.4", Origin="https://elsewhere.example"):
            pass
    assert refused.value.response.status_code == 403


async def test_a_visitor_through_nginx_and_an_agent_on_the_other_node_converse(cluster):
    proxy, nodes = cluster
    async with through_nginx(proxy, "127.0.0.2") as visitor:
        await visitor.hello(lang="en")
        _, other = holder_and_other(nodes)
        async with agent_on(other) as agent:
            chat = await claim(visitor, agent)
            await agent.send(type="send", chat=chat, text="Hello, this is Mei", id="a1")
            await visitor.until(is_reply("Hello, this is Mei"))
            await visitor.send({"type": "message", "id": "v1", "text": "Hi Mei"})
            await agent_sees(agent, chat, "Hi Mei")
            await agent.send(type="resolve", chat=chat)


async def test_per_ip_limits_count_the_client_behind_nginx(cluster):
    proxy, _ = cluster
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(MAX_CONNS_PER_IP):
            await stack.enter_async_context(through_nginx(proxy, "127.0.0.2"))
        # A third socket of that client is refused, also when it names another client itself.
        for forged in ({}, {"X-Forwarded-For": "198.51.100.7"}):
            with pytest.raises(InvalidStatus) as refused:
                await stack.enter_async_context(through_nginx(proxy, "127.0.0.2", **forged))
            assert refused.value.response.status_code == 429
        # Another client on the same nginx still gets in: nginx is not the one counted.
        async with through_nginx(proxy, "127.0.0.3") as other_client:
            assert (await other_client.hello(lang="en"))["type"] == "welcome"


async def test_an_address_s_sockets_are_counted_over_both_nodes(cluster):
    _, nodes = cluster
    async with as_nginx_for(nodes[0], "198.51.100.20") as a, \
            as_nginx_for(nodes[1], "198.51.100.20") as b:
        for visitor in (a, b):  # the sockets are counted by the time their hello is answered
            await visitor.hello(lang="en")
        for node in nodes:  # one socket on each node: the address is at its limit everywhere
            with pytest.raises(InvalidStatus) as refused:
                async with as_nginx_for(node, "198.51.100.20"):
                    pass
            assert refused.value.response.status_code == 429
    # Closed sockets stop counting at once.
    async with as_nginx_for(nodes[1], "198.51.100.20") as again:
        assert (await again.hello(lang="en"))["type"] == "welcome"


async def test_a_reconnect_flood_spread_over_both_nodes_gets_one_allowance(cluster):
    """Opening a socket takes a token of the address's bucket (20/s, burst 60), which both
    nodes draw on: alternating nodes buys nothing."""
    _, nodes = cluster
    loop = asyncio.get_running_loop()
    started, opened, refused = loop.time(), 0, 0
    for i in range(160):
        try:
            async with as_nginx_for(nodes[i % 2], "198.51.100.21"):
                opened += 1
        except InvalidStatus as exc:
            assert exc.response.status_code == 429
            refused += 1
    elapsed = loop.time() - started
    assert refused > 0
    # One node's allowance over the flood's time, with a little slack for timing.
    assert opened <= 60 + 20 * elapsed + 5, (opened, elapsed)


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_the_services_api_keeps_its_contract_through_nginx(cluster, mode):
    """schemathesis, as in tests/services/test_api_contract.py, through nginx and TLS to the
    nodes on PostgreSQL: no 5xx, every answer as the document says (fewer examples)."""
    proxy, _ = cluster
    base = f"https://127.0.0.1:{proxy.port}"
    schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json", verify=str(proxy.cert))
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) == 12  # tests/services/test_api_contract.py counts them
    for operation in found:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=10, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def keeps_contract(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=base, checks=CHECKS, verify=str(proxy.cert),
                                   headers={"Connection": "close"})

        try:
            keeps_contract()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE and operation.label in NOTHING_TO_NEGATE


async def test_an_agent_console_through_nginx_logs_in_and_sees_the_queues(cluster):
    proxy, _ = cluster
    agent = await console_through_nginx(proxy)
    try:
        assert (await agent.login("mei"))["type"] == "auth_ok"
        await agent.expect("queues")
    finally:
        await agent.close()


async def test_a_visitor_whose_node_is_killed_resumes_on_the_other_missing_nothing(cluster):
    proxy, nodes = cluster
    async with through_nginx(proxy, "127.0.0.2") as visitor:
        token = (await visitor.hello(lang="en"))["session"]
        holder, other = holder_and_other(nodes)
        async with agent_on(other) as agent:
            chat = await claim(visitor, agent)
            await agent.send(type="send", chat=chat, text="Before the crash", id="a1")
            await visitor.until(is_reply("Before the crash"))
            last_seq = max(f["seq"] for f in visitor.seen if "seq" in f)
            holder.kill()
            with pytest.raises(ConnectionClosed):
                await visitor.until(lambda f: False, timeout=10)
            missed = ["While you were away", "and once more"]
            for i, text in enumerate(missed):
                await agent.send(type="send", chat=chat, text=text, id=f"m{i}")
            async with through_nginx(proxy, "127.0.0.2") as again:
                welcome = await again.hello(session=token, last_seq=last_seq)
                assert welcome["state"] == "agent"
                await again.until(is_reply(missed[-1]))
                replayed = [f for f in again.seen if "seq" in f]
                seqs = [f["seq"] for f in replayed]
                assert seqs == list(range(last_seq + 1, welcome["last_seq"] + 1))  # each once
                assert [f["text"] for f in replayed if f["type"] == "reply"] == missed
                # The conversation goes on, live, on the surviving node.
                await again.send({"type": "message", "id": "v2", "text": "I am back"})
                await agent_sees(agent, chat, "I am back")
                await agent.send(type="send", chat=chat, text="Welcome back", id="a2")
                await again.until(is_reply("Welcome back"))
