"""Faults and hostile input on two nodes behind nginx, each node on one PostgreSQL database of
this module's own (it is restarted here): two agents on different nodes claiming one chat at
once; a PostgreSQL restart mid-conversation; the single node's abuse cases (malformed and
oversized frames, login throttling, ghost chats, a stolen resume token) with the limits held
over both nodes; and, last, a queued visitor whose node is SIGKILLed keeping their place.

Visitors are placed on a chosen node by opening their socket on it from 127.0.0.1, the nodes'
trusted proxy, naming their address as nginx would (nginx hashes a client's /24 to one node, and
every test client is on 127.0.0.0/24); they come back through nginx itself.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time

import pytest
from websockets.exceptions import ConnectionClosed

from tests import postgres_server
from tests.bot.test_abuse import NASTY_AGENT_FRAMES, NASTY_VISITOR_FRAMES, agent_login
from tests.deployment.cluster import (
    agent_on,
    agent_sees,
    agent_through_nginx,
    as_nginx_for,
    claim,
    console_through_nginx,
    is_queued,
    is_reply,
    queue_up,
    through_nginx,
    two_nodes,
    visitor_sockets,
)
from tests.handoff.helpers import PASSWORD, AgentClient, waiting_ids

pytestmark = pytest.mark.timeout(120)
GHOST_GRACE_S = 2.0  # how long a queued visitor with no socket keeps their place, here
MAX_FAILURES = 3  # wrong passwords before an agent's logins back off, here
_addresses = (f"198.51.100.{i}" for i in itertools.count(1))


def fresh_ip() -> str:
    return next(_addresses)


@pytest.fixture(scope="module")
def database():
    server = postgres_server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster(database, start_module_server, tmp_path_factory):
    url = database.create_database("faults")
    with two_nodes(url, start_module_server, tmp_path_factory.mktemp("nginx"),
                   agents=("mei", "lan", "zhou"),
                   CHAT_VISITOR_GONE_GRACE_S=str(GHOST_GRACE_S),
                   CHAT_AGENT_MAX_FAILURES=str(MAX_FAILURES)) as cluster:
        yield cluster


async def next_frame(agent: AgentClient, *types: str, timeout: float = 10) -> dict:
    """The agent's next frame of one of ``types`` (errors included), snapshots kept merged."""
    while True:
        frame = json.loads(await asyncio.wait_for(agent.ws.recv(), timeout))
        if frame["type"] in ("queues", "queues_delta"):
            frame = agent.merge(frame)
        agent.seen.append(frame)
        if frame["type"] in types:
            return frame


def position_of(snapshot: dict, chat: int) -> int | None:
    return next((c["position"] for q in snapshot["queues"] for c in q["waiting"]
                 if c["id"] == chat), None)


async def test_two_agents_on_different_nodes_claim_the_same_chat_at_once(cluster):
    """One console through nginx; the other on the node nginx did not pick for it (nginx sends
    every loopback client to one node)."""
    proxy, nodes = cluster
    async with through_nginx(proxy, "127.0.0.2") as visitor, \
            agent_through_nginx(proxy, "mei") as mei:
        counts = [visitor_sockets(n, "/agent/ws") for n in nodes]
        assert sorted(counts) == [0, 1], counts
        other = nodes[counts.index(0)]
        async with agent_on(other, "lan") as lan:
            await both_claim(visitor, mei, lan)


async def both_claim(visitor, mei: AgentClient, lan: AgentClient) -> None:
    """The visitor queues; both agents see the chat and claim it at the same moment."""
    await visitor.hello(lang="en")
    await queue_up(visitor)
    snapshots = [await a.queues_until(lambda s: bool(waiting_ids(s)), timeout=30)
                 for a in (mei, lan)]
    chat = max(waiting_ids(snapshots[0]))
    assert chat in waiting_ids(snapshots[1])
    await asyncio.gather(mei.send(type="claim", chat=chat), lan.send(type="claim", chat=chat))
    outcomes = [await next_frame(a, "chat", "error") for a in (mei, lan)]
    winners = [o for o in outcomes if o["type"] == "chat"]
    losers = [o for o in outcomes if o["type"] == "error"]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert losers[0]["code"] == "already_claimed"
    assert "Another agent has taken this chat" in losers[0]["message"]
    # Both consoles' queues no longer offer the chat; the winner has it as theirs.
    winner = mei if outcomes[0]["type"] == "chat" else lan
    for agent in (mei, lan):
        await agent.queues_until(lambda s: chat not in waiting_ids(s), timeout=10)
    assert chat in [c["id"] for c in winner.snapshot["mine"]]
    # The visitor sees one agent join, once.
    await visitor.until(lambda f: f["type"] == "state" and f["state"] == "agent")
    await asyncio.sleep(1.0)
    await visitor.send({"type": "ping"})
    await visitor.until(lambda f: f["type"] == "pong")
    joined = [f for f in visitor.seen if f["type"] == "state" and f["state"] == "agent"]
    assert len(joined) == 1, joined
    await winner.send(type="resolve", chat=chat)


async def ready_after(nodes, timeout: float = 30) -> float:
    """Seconds until every node's /readyz is 200."""
    started = time.monotonic()
    while True:
        statuses = [(await asyncio.to_thread(node.get, "/readyz"))[0] for node in nodes]
        if statuses == [200] * len(nodes):
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, statuses
        await asyncio.sleep(0.2)


async def agent_sees_text(agent: AgentClient, chat: int, text: str, timeout: float = 15) -> None:
    """Like ``agent_sees``, but error frames (refused sends) are kept, not raised."""
    deadline = time.monotonic() + timeout
    while True:
        frame = await next_frame(agent, "event", timeout=max(0.1, deadline - time.monotonic()))
        if frame["chat"] == chat and frame["event"].get("text") == text:
            return


def texts_of(frames: list[dict], kind: str) -> list[str]:
    return [f["text"] for f in frames if f["type"] == kind and "seq" in f]


async def test_a_postgresql_restart_is_survived(cluster, database):
    _, nodes = cluster
    async with as_nginx_for(nodes[0], fresh_ip()) as visitor, \
            as_nginx_for(nodes[1], fresh_ip()) as asker, agent_on(nodes[1], "lan") as agent:
        token = (await visitor.hello(lang="en"))["session"]
        await asker.hello(lang="en")
        chat = await claim(visitor, agent)
        await visitor.send({"type": "message", "id": "v1", "text": "Before the restart"})
        await agent_sees(agent, chat, "Before the restart")
        await agent.send(type="send", chat=chat, text="Acked before", id="a1")
        await visitor.until(is_reply("Acked before"))
        await asker.ask("How do I apply for a passport?", "b1")

        started = time.monotonic()
        await asyncio.to_thread(database.shut_down)
        # Said while the database is down: each gets an error or is delivered once it is back.
        await visitor.send({"type": "message", "id": "v2", "text": "During the outage"})
        await agent.send(type="send", chat=chat, text="Agent during the outage", id="a2")
        await asker.send({"type": "message", "id": "b2", "text": "How long does a visa take?"})
        await asyncio.sleep(1.0)
        await asyncio.to_thread(database.start_again)
        pause = time.monotonic() - started
        back_in = await ready_after(nodes)  # a short pause: the nodes reconnect on their own
        assert back_in < 10

        # Live across nodes again (both nodes' LISTEN connections are back), and the bot answers.
        await visitor.send({"type": "message", "id": "v3", "text": "After the restart"})
        await agent_sees_text(agent, chat, "After the restart")
        await agent.send(type="send", chat=chat, text="Agent after the restart", id="a3")
        await visitor.until(is_reply("Agent after the restart"))
        assert (await asker.ask("How do I renew my visa?", "b3"))["text"]

        # The outage's messages: refused with an error, or delivered (and then stored once).
        refused = {f.get("id") for f in visitor.seen + asker.seen if f["type"] == "error"}
        acked = {f["id"] for f in visitor.seen + asker.seen if f["type"] == "ack"}
        assert {"v2", "b2"} <= refused | acked, (visitor.seen[-8:], asker.seen[-8:])
        agent_refused = [f for f in agent.seen if f["type"] == "error"]
        agent_said = texts_of(visitor.seen, "reply")
        assert agent_refused or "Agent during the outage" in agent_said, agent.seen[-8:]

        # Everything acknowledged is in the transcript, once, as another node replays it.
        async with as_nginx_for(nodes[1], fresh_ip()) as again:
            await again.hello(session=token, last_seq=0)
            await again.send({"type": "ping"})
            await again.until(lambda f: f["type"] == "pong")
            said = texts_of(again.seen, "visitor")
            replies = texts_of(again.seen, "reply")
        expected = ["Before the restart", "After the restart"]
        expected += ["During the outage"] if "v2" in acked else []
        for text in expected:
            assert said.count(text) == 1, (text, said)
        for text in ["Acked before", "Agent after the restart"]:
            assert replies.count(text) == 1, (text, replies)
        await agent.send(type="resolve", chat=chat)
    print(f"PostgreSQL down for {pause:.1f} s; both nodes ready {back_in:.2f} s after its start")


# The single node's abuse cases, on two nodes ----------------------------------------------------

async def test_malformed_frames_through_nginx_get_clear_refusals(cluster):
    proxy, nodes = cluster
    async with through_nginx(proxy, "127.0.0.3") as visitor:
        await visitor.hello(lang="en")
        for raw, code in NASTY_VISITOR_FRAMES.items():
            await visitor.send(raw)
            frame = await visitor.until(lambda f: f["type"] == "error")
            assert frame["code"] == code, (raw[:60], frame)
        await visitor.send({"type": "message", "id": "ok", "text": "hello"})
        await visitor.until(lambda f: f["type"] == "ack" and f["id"] == "ok")
    console = await console_through_nginx(proxy)
    try:
        for raw, code in NASTY_AGENT_FRAMES.items():
            await console.ws.send(raw)
            frame = await next_frame(console, "error")
            assert frame["code"] == code, (raw[:60], frame)
        assert (await console.login("mei"))["type"] == "auth_ok"
    finally:
        await console.close()
    for node in nodes:  # no frame, not even during the database restart, crashed a socket
        assert "connection handler failed" not in node.log.read_text()


async def test_an_oversized_frame_through_nginx_closes_the_socket_and_loses_nothing(cluster):
    proxy, _ = cluster
    async with through_nginx(proxy, "127.0.0.3") as visitor:
        token = (await visitor.hello(lang="en"))["session"]
        await visitor.send({"type": "message", "id": "k1", "text": "Keep this"})
        ack = await visitor.until(lambda f: f["type"] == "ack" and f["id"] == "k1")
        await visitor.send(json.dumps({"type": "message", "id": "big", "text": "x" * 70_000}))
        with pytest.raises(ConnectionClosed) as closed:
            await visitor.until(lambda f: False, timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    async with through_nginx(proxy, "127.0.0.3") as again:
        await again.hello(session=token, last_seq=ack["seq"] - 1)
        await again.send({"type": "ping"})
        await again.until(lambda f: f["type"] == "pong")
        assert texts_of(again.seen, "visitor") == ["Keep this"]


async def test_login_failures_spread_over_both_nodes_are_counted_together(cluster):
    _, nodes = cluster
    attacker = fresh_ip()
    for i in range(MAX_FAILURES):  # the free failures, alternating nodes
        reply = await agent_login(nodes[i % 2], "zhou", "guess guess", attacker)
        assert reply["code"] == "bad_credentials", reply
    for node in nodes:  # now the address waits, on either node, even with the right password
        assert (await agent_login(node, "zhou", PASSWORD, attacker))["code"] == "locked"
    assert (await agent_login(nodes[1], "zhou", PASSWORD, fresh_ip()))["type"] == "auth_ok"


async def test_ghost_chats_leave_the_queue_and_live_visitors_on_either_node_stay(cluster):
    """Each node sees only its own sockets: a queued visitor connected to the other node must
    not look gone to this one (which would drop them after the grace period)."""
    _, nodes = cluster
    async with agent_on(nodes[1], "mei") as agent:
        await agent.queues_until(lambda s: not waiting_ids(s), timeout=GHOST_GRACE_S + 10)
        async with as_nginx_for(nodes[0], fresh_ip()) as live_a, \
                as_nginx_for(nodes[1], fresh_ip()) as live_b:
            for live in (live_a, live_b):  # queuing on node B tidies B's view of the queue
                await live.hello(lang="en")
                await queue_up(live)
            async with as_nginx_for(nodes[0], fresh_ip()) as ghost:
                await ghost.hello(lang="en")
                await queue_up(ghost)
            snapshot = await agent.queues_until(lambda s: len(waiting_ids(s)) == 3, timeout=10)
            *live_chats, ghost_chat = sorted(waiting_ids(snapshot))
            # The ghost's chat leaves the queue after the grace period; the visitors who are
            # still connected keep their places, at the head of the queue.
            await agent.queues_until(lambda s: ghost_chat not in waiting_ids(s),
                                     timeout=GHOST_GRACE_S + 10)
            await asyncio.sleep(2 * GHOST_GRACE_S)
            await agent.send(type="ping")
            await next_frame(agent, "pong")
            assert waiting_ids(agent.snapshot) == live_chats
            assert [position_of(agent.snapshot, c) for c in live_chats] == [1, 2]
            for live in (live_a, live_b):
                await live.send({"type": "ping"})
                await live.until(lambda f: f["type"] == "pong")
                assert live.seen[-2]["type"] != "state" or live.seen[-2]["state"] == "queued"
        await agent.queues_until(lambda s: not waiting_ids(s), timeout=GHOST_GRACE_S + 10)


async def test_a_stolen_resume_token_is_useless_after_the_visitor_reconnects_elsewhere(cluster):
    _, nodes = cluster
    ip = fresh_ip()
    async with as_nginx_for(nodes[0], ip) as visitor:
        stolen = (await visitor.hello(lang="en"))["session"]
        await visitor.send({"type": "message", "id": "s1", "text": "My passport is E12345678"})
        await visitor.until(lambda f: f["type"] == "ack" and f["id"] == "s1")
    async with as_nginx_for(nodes[1], ip) as back:  # the visitor's own reconnect, other node
        welcome = await back.hello(session=stolen, last_seq=0)
        assert welcome["session"] != stolen
        await back.send({"type": "ping"})
        await back.until(lambda f: f["type"] == "pong")
        assert any(t.startswith("My passport is") for t in texts_of(back.seen, "visitor"))
    for node in nodes:
        async with as_nginx_for(node, fresh_ip()) as thief:
            welcome = await thief.hello(session=stolen, last_seq=0)
            assert welcome["session"] not in (stolen, None)
            await thief.send({"type": "ping"})
            await thief.until(lambda f: f["type"] == "pong")
            assert not texts_of(thief.seen, "visitor")  # a new, empty conversation


# Last: a node is killed ---------------------------------------------------------------------------

async def test_a_queued_visitor_keeps_their_place_when_their_node_dies(cluster):
    proxy, nodes = cluster
    doomed = nodes[1]
    async with as_nginx_for(nodes[0], fresh_ip()) as first, \
            as_nginx_for(doomed, fresh_ip()) as second, \
            as_nginx_for(nodes[0], fresh_ip()) as third, agent_on(nodes[0], "mei") as agent:
        await agent.queues_until(lambda s: not waiting_ids(s), timeout=GHOST_GRACE_S + 10)
        token = (await second.hello(lang="en"))["session"]
        for visitor in (first, third):
            await visitor.hello(lang="en")
        positions = [(await queue_up(v))["position"] for v in (first, second, third)]
        assert positions == sorted(positions) and len(set(positions)) == 3
        snapshot = await agent.queues_until(lambda s: len(waiting_ids(s)) >= 3, timeout=10)
        chats = sorted(waiting_ids(snapshot))[-3:]
        last_seq = max(f["seq"] for f in second.seen if "seq" in f)
        doomed.kill()
        with pytest.raises(ConnectionClosed):
            await second.until(lambda f: False, timeout=10)
        async with through_nginx(proxy, "127.0.0.4") as again:
            welcome = await again.hello(session=token, last_seq=last_seq)
            assert welcome["state"] == "queued"
            await again.send({"type": "ping"})
            await again.until(lambda f: f["type"] == "pong")
            replayed = [f["seq"] for f in again.seen if "seq" in f]
            assert replayed == sorted(set(replayed)) and all(s > last_seq for s in replayed)
            await agent.send(type="ping")
            await next_frame(agent, "pong")
            assert [position_of(agent.snapshot, c) for c in chats] == positions
            # The whole transcript, once: the request for a person is in it exactly once.
            async with through_nginx(proxy, "127.0.0.4") as whole:
                await whole.hello(session=welcome["session"], last_seq=0)
                await whole.send({"type": "ping"})
                await whole.until(lambda f: f["type"] == "pong")
                seqs = [f["seq"] for f in whole.seen if "seq" in f]
                assert seqs == list(range(1, len(seqs) + 1))
                assert texts_of(whole.seen, "visitor") == ["Talk to a person"]
                assert any(is_queued(f) for f in whole.seen)
