"""The agents' side of two nodes behind nginx (real subprocesses, real PostgreSQL, the sample
config of docs/deployment.md): a visitor who lands on one node is told the same place and wait
as on the other, counted with the agents of both; their chat goes by itself to the only agent
taking chats, on the other node; typing shows both ways; and when the agent's node is killed,
its agents are offline at once (no chat is given to them), and the visitor, told their agent lost
the connection, is back at the front of the queue and served by another agent, nothing lost.
An agent whose console nginx put on one node transfers a chat to an agent on the other: it opens
there with its transcript, and the visitor is told once; a transfer to an agent offline on every
node is refused as on one node.

Visitors come through nginx, which sends every loopback client to one node (the "visitor's
node"); the agents' consoles are opened on a chosen node from 127.0.0.1, the nodes' trusted
proxy. The test that kills a node runs last.
"""

from __future__ import annotations

import itertools

import pytest
from websockets.exceptions import ConnectionClosed

from handoff import texts
from tests.deployment.cluster import (
    agent_on,
    agent_sees,
    agent_through_nginx,
    as_nginx_for,
    claim,
    holder_and_other,
    is_queued,
    is_reply,
    through_nginx,
    two_nodes,
)
from tests.handoff.helpers import AgentClient, is_state

pytestmark = pytest.mark.timeout(60)
AGENT_GRACE_S = 2.0  # how long an agent may be offline and keep their chats, here
NOT_ONLINE_S = 2.0  # how long a chat offered to nobody is watched for going to a dead agent
_addresses = (f"198.51.100.{i}" for i in itertools.count(1))


@pytest.fixture(scope="module")
def cluster(postgres, start_module_server, tmp_path_factory):
    url = postgres.create_database("agents_across_nodes")
    with two_nodes(url, start_module_server, tmp_path_factory.mktemp("nginx"),
                   agents=("mei", "lan", "zhao"),
                   CHAT_AGENT_RECONNECT_GRACE_S=str(AGENT_GRACE_S)) as cluster:
        yield cluster


def joined(visitor, name: str) -> list[dict]:
    """The "<name> has joined" notices the visitor got."""
    said = texts.say(texts.AGENT_JOINED, "en", agent=name)
    return [f for f in visitor.seen if f["type"] == "reply" and f.get("text") == said]


async def ask_for_a_person(visitor) -> None:
    await visitor.send({"type": "message", "id": "p1", "text": "Talk to a person"})
    await visitor.until(lambda f: f["type"] == "ack" and f["id"] == "p1")


async def told(visitor, predicate, since: int = 0, timeout: float = 10) -> dict:
    """The last frame from the visitor's ``since``-th on that matches, waiting for one if none
    came yet (what another node did may come before or after what the test waited for last)."""
    found = [f for f in visitor.seen[since:] if predicate(f)]
    return found[-1] if found else await visitor.until(predicate, timeout=timeout)


async def opened(agent: AgentClient, session_text: str) -> dict:
    """The chat that opened by itself in the console, whose transcript has ``session_text``."""
    while True:
        chat = await agent.expect("chat", timeout=15)
        if any(e.get("text") == session_text for e in chat["transcript"]):
            return chat


def online_names(snapshot: dict | None) -> set[str]:
    return {a["username"] for a in (snapshot or {}).get("online_agents", [])}


async def test_the_queue_is_one_over_both_nodes_and_its_chat_goes_to_the_agent_elsewhere(
        cluster):
    proxy, nodes = cluster
    async with through_nginx(proxy, "127.0.0.2") as first:
        await first.hello(lang="en")
        _, other = holder_and_other(nodes)
        async with as_nginx_for(other, next(_addresses)) as second, \
                agent_on(other, "lan") as lan:  # online on the other node, not taking chats
            await second.hello(lang="en")
            await ask_for_a_person(first)
            told_first = await first.until(is_queued, timeout=60)
            await ask_for_a_person(second)
            told_second = await second.until(is_queued, timeout=60)
            # One queue: places 1 and 2, and a wait counted with Lan, online on the other node
            # (the visitor's node alone has nobody online: it would say no agent is available).
            assert (told_first["position"], told_second["position"]) == (1, 2)
            assert told_first["eta_s"] is not None
            assert told_second["eta_s"] == told_first["eta_s"]  # Lan has a slot for each

            # The visitor looks again from the other node: the same place and wait.
            token = next(f["session"] for f in first.seen if f["type"] == "welcome")
            async with as_nginx_for(other, "127.0.0.2") as elsewhere:  # a second tab
                await elsewhere.hello(session=token, last_seq=0)
                await elsewhere.send({"type": "ping"})
                await elsewhere.until(lambda f: f["type"] == "pong")
                last = [f for f in elsewhere.seen if is_queued(f)][-1]
                assert (last["position"], last["eta_s"]) == (1, told_first["eta_s"])

            # Lan, the only agent taking chats, is on the other node: both chats open in their
            # console by themselves, and each visitor is told Lan joined, once.
            await lan.send(type="accepting", on=True)
            chats = {(await lan.expect("chat", timeout=15))["chat"]["id"] for _ in range(2)}
            chat = min(chats)  # the first visitor's: they asked first
            for visitor in (first, second):
                await visitor.until(is_state("agent", agent="Lan"), timeout=10)
                assert len(joined(visitor, "Lan")) == 1

            # Typing shows both ways, and they converse.
            await first.send({"type": "typing", "on": True})
            assert (await lan.expect("typing", chat=chat))["on"] is True
            await lan.send(type="typing", chat=chat, on=True)
            await first.until(lambda f: f["type"] == "typing" and f["from"] == "agent" and f["on"])
            await lan.send(type="send", chat=chat, text="Hello from Lan", id="l1")
            await first.until(is_reply("Hello from Lan"))
            await first.send({"type": "message", "id": "v1", "text": "Thank you"})
            await agent_sees(lan, chat, "Thank you")
            for visitor in (first, second):
                await visitor.send({"type": "close"})
            released = [await lan.expect("released", reason="visitor_closed") for _ in chats]
            assert {f["chat"] for f in released} == chats


async def test_a_chat_is_transferred_to_an_agent_whose_console_is_on_the_other_node(cluster):
    proxy, nodes = cluster
    async with through_nginx(proxy, "127.0.0.6") as visitor:
        await visitor.hello(lang="en")
        _, other = holder_and_other(nodes)
        # Mei's console goes where nginx sends it (the visitor's node), Lan's to the other.
        async with agent_through_nginx(proxy, "mei") as mei, agent_on(other, "lan") as lan:
            chat = await claim(visitor, mei)
            await visitor.send({"type": "message", "id": "v1", "text": "About my residence permit"})
            await agent_sees(mei, chat, "About my residence permit")
            await mei.send(type="transfer", chat=chat, agent="zhao")  # offline on every node
            refused = await mei.expect("error")
            assert (refused["code"], refused["message"]) == ("agent_offline",
                                                             "That agent is not online.")
            await mei.send(type="transfer", chat=chat, agent="lan", note="residence permit")
            await mei.expect("released", chat=chat, reason="transferred")
            given = await lan.expect("chat", timeout=10)
            assert given["chat"]["id"] == chat and given["chat"]["owner"] == "lan"
            said = [e.get("text") for e in given["transcript"]]
            assert said.count("About my residence permit") == 1
            await visitor.until(is_state("agent", agent="Lan"), timeout=10)
            await lan.send(type="send", chat=chat, text="Lan here, about your permit", id="l1")
            await visitor.until(is_reply("Lan here, about your permit"))
            passed = texts.say(texts.TRANSFERRED_AGENT, "en", agent="Lan")
            assert [f.get("text") for f in visitor.seen].count(passed) == 1
            await visitor.send({"type": "message", "id": "v2", "text": "Thanks Lan"})
            await agent_sees(lan, chat, "Thanks Lan")
            await visitor.send({"type": "close"})
            await lan.expect("released", chat=chat, reason="visitor_closed")


# Last: a node is killed -------------------------------------------------------------------------

async def test_when_the_agent_s_node_dies_the_visitor_goes_back_to_the_queue_and_to_another(
        cluster):
    proxy, nodes = cluster
    async with through_nginx(proxy, "127.0.0.3") as visitor:
        await visitor.hello(lang="en")
        home, doomed = holder_and_other(nodes)
        mei = await AgentClient.open(home.agent_ws_url)
        lan = await AgentClient.open(doomed.agent_ws_url)
        try:
            await mei.login("mei")  # online on the visitor's node, not taking chats
            await lan.login("lan")
            await lan.send(type="accepting", on=True)
            await ask_for_a_person(visitor)
            chat = (await opened(lan, "Talk to a person"))["chat"]["id"]
            await visitor.until(is_state("agent", agent="Lan"), timeout=10)
            await lan.send(type="send", chat=chat, text="Lan here", id="l1")
            await visitor.until(is_reply("Lan here"))

            await mei.queues_until(lambda s: "lan" in online_names(s), timeout=10)
            before = len(visitor.seen)
            doomed.kill()
            with pytest.raises(ConnectionClosed):
                await lan.expect("never", timeout=10)
            # Lan leaves the agents online that Mei's console lists (their node said nothing).
            await mei.queues_until(lambda s: "lan" not in online_names(s), timeout=10)
            await visitor.send({"type": "message", "id": "v1", "text": "Are you there?"})
            await visitor.until(lambda f: f["type"] == "ack" and f["id"] == "v1")
            # At once, Lan is offline: a visitor asking for a person now waits for an agent
            # (Mei is online) instead of being given to Lan, whose console is gone.
            async with through_nginx(proxy, "127.0.0.4") as newcomer:
                await newcomer.hello(lang="en")
                await ask_for_a_person(newcomer)
                waits = await newcomer.until(is_queued, timeout=60)
                assert waits["eta_s"] is not None  # counted with Mei
                with pytest.raises(TimeoutError):
                    await newcomer.until(is_state("agent"), timeout=NOT_ONLINE_S)

                # After the grace period the visitor is told, and is back at the front.
                lost = texts.say(texts.AGENT_DISCONNECTED, "en")
                await told(visitor, is_reply(lost), since=before, timeout=AGENT_GRACE_S + 10)
                assert (await told(visitor, is_queued, since=before))["position"] == 1
                await told(newcomer, lambda f: is_queued(f) and f["position"] == 2)

                # Mei takes chats: the visitor's comes first, with everything said so far.
                await mei.send(type="accepting", on=True)
                given = await opened(mei, "Are you there?")
                assert given["chat"]["id"] == chat
                said = [e.get("text") for e in given["transcript"]]
                for text in ("Talk to a person", "Lan here", "Are you there?", lost):
                    assert said.count(text) == 1, (text, said)
                await visitor.until(is_state("agent", agent="Mei"), timeout=10)
                assert len(joined(visitor, "Mei")) == 1
                await mei.send(type="send", chat=chat, text="Mei here", id="m1")
                await visitor.until(is_reply("Mei here"))
                await visitor.send({"type": "message", "id": "v2", "text": "Thanks Mei"})
                await agent_sees(mei, chat, "Thanks Mei")
        finally:
            for agent in (mei, lan):
                await agent.close()
