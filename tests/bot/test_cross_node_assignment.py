"""Two server processes on one PostgreSQL database (in process, each on its own port and loop):
the auto-assignment, the queue positions, typing indicators and the `released` notice are the
cluster's, not each node's. A visitor queued on node A gets the agent taking chats on node B; two
nodes assigning at once give each chat to one agent and no agent more than they may hold; a node
that starts does not take their chats from agents connected to another."""

from __future__ import annotations

import asyncio
import time

import pytest

from handoff import texts
from tests.bot.test_cross_node import claimed_chat, escalate
from tests.handoff.helpers import AgentClient, add_agent

pytestmark = pytest.mark.timeout(120)


def is_state(state: str):
    return lambda f: f["type"] == "state" and f["state"] == state


@pytest.fixture
async def two_nodes(postgres_url, start_server, monkeypatch):
    """Node A and node B on one database, with no agent yet."""
    a = start_server(in_process=True, CHAT_DATABASE_URL=postgres_url)
    b = start_server(in_process=True, CHAT_DATABASE_URL=postgres_url)
    monkeypatch.setenv("CHAT_DATABASE_URL", postgres_url)  # the accounts CLI's database
    return a, b


@pytest.fixture
async def agents():
    """Agent consoles opened by a test, closed after it."""
    opened: list[AgentClient] = []

    async def open_on(node, username: str, *, accepting: bool = True) -> AgentClient:
        agent = await AgentClient.open(node.agent_ws_url)
        opened.append(agent)
        await agent.login(username)
        if accepting:
            await agent.send(type="accepting", on=True)
        return agent

    yield open_on
    for agent in opened:
        await agent.close()


async def queued_visitor(visitor, node) -> dict:
    """The visitor says hello on ``node`` and asks for a person: their first `queued` frame."""
    token = (await visitor.hello(lang="en"))["session"]
    await escalate(node, token)
    return await visitor.until(lambda f: f["type"] == "state" and f["state"] in ("queued", "agent"))


async def got_an_agent(visitor) -> bool:
    """Whether the visitor was told an agent has their chat (waiting a second for it)."""
    if any(is_state("agent")(f) for f in visitor.seen):
        return True
    try:
        await visitor.until(is_state("agent"), timeout=1)
    except TimeoutError:
        return False
    return True


async def test_a_visitor_on_one_node_gets_the_agent_taking_chats_on_the_other(
        two_nodes, agents, ws_client):
    a, b = two_nodes
    add_agent(b.data_dir, "li", name="Li", max_chats=2)
    li = await agents(b, "li")
    async with ws_client(a.ws_url) as visitor:
        started = time.monotonic()
        await queued_visitor(visitor, a)
        opened = await li.expect("chat", timeout=2)  # opens on the console by itself
        await visitor.until(is_state("agent"), timeout=2)
        assert time.monotonic() - started < 2
        joined = [f for f in visitor.seen if f["type"] == "reply" and "Li" in f.get("text", "")]
        assert len(joined) == 1  # "Li has joined", once
        # And they converse.
        await li.send(type="send", chat=opened["chat"]["id"], text="Hello from node B", id="r1")
        await visitor.until(lambda f: f["type"] == "reply" and f["text"] == "Hello from node B")


async def test_chats_of_one_node_are_shared_out_evenly_over_both(two_nodes, agents, ws_client):
    a, b = two_nodes
    add_agent(a.data_dir, "li", max_chats=3)
    add_agent(a.data_dir, "wang", max_chats=3)
    consoles = {"li": await agents(a, "li"), "wang": await agents(b, "wang")}
    async with (ws_client(a.ws_url) as v1, ws_client(a.ws_url) as v2,
                ws_client(a.ws_url) as v3, ws_client(a.ws_url) as v4):
        # All on node A, one at a time: each goes to whoever holds fewer, on either node.
        for visitor in (v1, v2, v3, v4):
            await queued_visitor(visitor, a)
            await visitor.until(is_state("agent"), timeout=5)
        owners = [next(f for f in v.seen if f["type"] == "state" and f["state"] == "agent")["agent"]
                  for v in (v1, v2, v3, v4)]
        assert sorted(owners) == ["li", "li", "wang", "wang"]
        for console in consoles.values():  # each console opened its two chats by itself
            chats = set()
            while len(chats) < 2:
                chats.add((await console.expect("chat"))["chat"]["id"])


async def test_two_nodes_assigning_at_once_give_each_chat_once_within_capacity(
        two_nodes, agents, ws_client):
    a, b = two_nodes
    add_agent(a.data_dir, "li", max_chats=2)
    add_agent(a.data_dir, "wang", max_chats=2)
    li, wang = await agents(a, "li"), await agents(b, "wang")
    async with (ws_client(a.ws_url) as v1, ws_client(b.ws_url) as v2,
                ws_client(a.ws_url) as v3, ws_client(b.ws_url) as v4,
                ws_client(a.ws_url) as v5, ws_client(b.ws_url) as v6):
        visitors = [(v1, a), (v2, b), (v3, a), (v4, b), (v5, a), (v6, b)]
        await asyncio.gather(*(queued_visitor(v, node) for v, node in visitors))
        # Four slots for six chats: four get an agent, two keep waiting.
        given = {}
        for console in (li, wang):
            while len([c for c, owner in given.items() if owner is console]) < 2:
                given[(await console.expect("chat"))["chat"]["id"]] = console
        await asyncio.sleep(1)  # nothing more comes: nobody has room
        for console in (li, wang):
            assert not [f for f in console.seen[-50:] if f["type"] == "chat"
                        and f["chat"]["id"] not in given]
        served = [v for v, _ in visitors if await got_an_agent(v)]
        assert len(served) == 4
        for v in served:  # each chat given once: one "agent" state, one joining notice
            assert len([f for f in v.seen if f["type"] == "state" and f["state"] == "agent"]) == 1


async def test_queue_positions_and_waits_count_the_agents_of_every_node(
        two_nodes, agents, ws_client):
    a, b = two_nodes
    add_agent(b.data_dir, "li", max_chats=1)
    li = await agents(b, "li", accepting=False)  # online on B, not taking chats yet
    async with ws_client(a.ws_url) as first, ws_client(b.ws_url) as second:
        told_first = await queued_visitor(first, a)
        told_second = await queued_visitor(second, b)
        # Node A knows that an agent who could take the chat is online (on B): a wait, not
        # "nobody is online"; both nodes count the same queue.
        assert (told_first["position"], told_second["position"]) == (1, 2)
        assert told_first["eta_s"] is not None and told_second["eta_s"] is not None
        await li.send(type="accepting", on=True)
        await li.expect("chat")
        await first.until(is_state("agent"))
        moved = await second.until(lambda f: f["type"] == "state" and f.get("position") == 1)
        assert moved["state"] == "queued"
        # Whichever node recomputed them, each visitor was told each place once.
        for visitor in (first, second):
            told = [(f["position"], f["eta_s"]) for f in visitor.seen
                    if f["type"] == "state" and f["state"] == "queued"]
            assert all(one != next_one for one, next_one in zip(told, told[1:], strict=False))


async def test_typing_and_the_release_cross_nodes(two_nodes, agents, ws_client):
    a, b = two_nodes
    add_agent(b.data_dir, "li")
    li = await agents(b, "li", accepting=False)
    async with ws_client(a.ws_url) as visitor:
        chat = await claimed_chat(visitor, a, li)
        await visitor.send({"type": "typing", "on": True})
        assert (await li.expect("typing", chat=chat))["on"] is True
        await li.send(type="typing", chat=chat, on=True)
        await visitor.until(lambda f: f["type"] == "typing" and f["from"] == "agent" and f["on"])
        await visitor.send({"type": "close"})
        await li.expect("released", chat=chat, reason="visitor_closed")


async def test_a_node_started_later_leaves_the_agents_of_the_others_their_chats(
        two_nodes, agents, ws_client, start_server, postgres_url):
    """A starting node gives the owners of chats the grace period to reconnect (to it, after a
    restart); an owner connected to another node all along keeps their chats."""
    a, b = two_nodes
    add_agent(b.data_dir, "li")
    li = await agents(b, "li", accepting=False)
    async with ws_client(a.ws_url) as visitor:
        chat = await claimed_chat(visitor, a, li)
        start_server(in_process=True, CHAT_DATABASE_URL=postgres_url,
                     CHAT_AGENT_RECONNECT_GRACE_S="0.3")
        await asyncio.sleep(1.0)  # the new node's grace period is over
        await li.send(type="send", chat=chat, text="Still with you", id="r1")
        await visitor.until(lambda f: f["type"] == "reply" and f["text"] == "Still with you")
        lost = texts.say(texts.AGENT_DISCONNECTED, "en")
        assert not [f for f in visitor.seen if f.get("text") == lost]
        assert [f["state"] for f in visitor.seen if f["type"] == "state"][-1] == "agent"
