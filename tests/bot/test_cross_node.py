"""Two server processes on one PostgreSQL database (in process, each on its own port and loop):
live events stored by one reach the websockets of the other through LISTEN/NOTIFY
(storage/live.py), exactly once and in seq order, also after the listening connection was
killed; announcements that were not made by a node (forged, malformed) show nothing."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from tests.handoff.helpers import AgentClient, add_agent, waiting_ids

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def nodes(postgres_url, start_server, monkeypatch):
    """Node A and node B on one database, and an agent logged in on B."""
    # A burst of 25 messages from one tab stays within its rate limit.
    a = start_server(in_process=True, CHAT_DATABASE_URL=postgres_url, CHAT_CONN_BURST="60")
    b = start_server(in_process=True, CHAT_DATABASE_URL=postgres_url, CHAT_CONN_BURST="60")
    monkeypatch.setenv("CHAT_DATABASE_URL", postgres_url)  # the accounts CLI's database
    add_agent(b.data_dir, "li", name="Li", queues="*", langs="zh,en")
    agent = await AgentClient.open(b.agent_ws_url)
    await agent.login("li")
    yield a, b, agent
    await agent.close()


async def escalate(node, token: str) -> None:
    """What the bot does when a visitor asks for a person (the nodes run without models)."""
    async def work() -> None:
        session = node.chat.store.session_by_token(token)
        await node.chat.handoff.escalate(session.id, lang="en", business_option=None,
                                         region=None, overseas=False, summary="", reason="asked")
    await node.call(work)


async def claimed_chat(visitor, node, agent: AgentClient) -> int:
    """The visitor (on ``node``) escalates and the agent (elsewhere) claims their chat."""
    token = (await visitor.hello(lang="en"))["session"]
    await escalate(node, token)
    await visitor.until(lambda f: f["type"] == "state" and f["state"] == "queued")
    snapshot = await agent.queues_until(lambda s: bool(waiting_ids(s)))
    chat = max(waiting_ids(snapshot))
    await agent.send(type="claim", chat=chat)
    await agent.expect("chat")
    await visitor.until(lambda f: f["type"] == "state" and f["state"] == "agent")
    return chat


async def until_seen(tab, texts: set[str]) -> None:
    """Until every one of ``texts`` has come, in any order."""
    await tab.until(lambda f: texts <= {g.get("text") for g in tab.seen})


def is_reply(text: str):
    return lambda f: f["type"] == "reply" and f["text"] == text


async def test_visitor_on_one_node_and_agent_on_another_converse_live(nodes, ws_client):
    a, _, agent = nodes
    async with ws_client(a.ws_url) as visitor:
        chat = await claimed_chat(visitor, a, agent)
        await agent.send(type="send", chat=chat, text="Hello from node B", id="r1")
        await visitor.until(is_reply("Hello from node B"))
        await visitor.send({"type": "message", "id": "v1", "text": "Hello from node A"})
        seen = await agent.expect("event", chat=chat)
        while seen["event"].get("text") != "Hello from node A":
            seen = await agent.expect("event", chat=chat)
        assert seen["event"]["type"] == "visitor"


async def test_a_burst_arrives_once_and_in_order_on_both_nodes(nodes, ws_client):
    a, b, agent = nodes
    async with ws_client(a.ws_url) as visitor, ws_client(b.ws_url) as second_tab:
        chat = await claimed_chat(visitor, a, agent)
        token = visitor.seen[0]["session"]
        welcome = await second_tab.hello(session=token, last_seq=0)
        for _ in range(welcome["last_seq"]):
            await second_tab.recv()
        # 25 messages from the visitor on A and 25 replies from the agent on B, interleaved.
        await asyncio.gather(
            *(visitor.send({"type": "message", "id": f"v{i}", "text": f"visitor {i}"})
              for i in range(25)),
            *(agent.send(type="send", chat=chat, text=f"agent {i}", id=f"a{i}") for i in range(25)))
        for tab in (visitor, second_tab):  # each has everything it received in ``seen``
            await until_seen(tab, {"agent 24", "visitor 24"})
            seqs = [f["seq"] for f in tab.seen if "seq" in f and f["type"] != "ack"]
            assert seqs == list(range(1, len(seqs) + 1))  # each stored event once, in seq order
        texts = []
        while len(texts) < 25:
            frame = await agent.expect("event", chat=chat)
            if frame["event"]["type"] == "visitor":
                texts.append(frame["event"]["text"])
        assert sorted(texts, key=lambda t: int(t.split()[1])) == texts  # sent in this order
        assert len(set(texts)) == 25


async def test_events_after_the_listener_was_killed_still_arrive(nodes, ws_client, postgres_url,
                                                                caplog):
    a, _, agent = nodes
    async with ws_client(a.ws_url) as visitor:
        chat = await claimed_chat(visitor, a, agent)
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND query LIKE 'LISTEN%'").fetchall()
        assert len(killed) == 2  # one listening connection per node
        await agent.send(type="send", chat=chat, text="sent while A was not listening", id="r1")
        await visitor.until(is_reply("sent while A was not listening"))
        await agent.send(type="send", chat=chat, text="and after", id="r2")
        await visitor.until(is_reply("and after"))
    # Node A learnt of the first reply by reading the store once it listened again.
    assert [r.message for r in caplog.records].count("live events: listening connection lost") == 2


async def test_a_visitor_message_while_the_consoles_node_was_not_listening_reaches_it(
        nodes, ws_client, postgres_url):
    a, _, agent = nodes
    async with ws_client(a.ws_url) as visitor:
        chat = await claimed_chat(visitor, a, agent)
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                          " WHERE datname = current_database() AND query LIKE 'LISTEN%'")
        # Stored on A at once, while B (the console's node) reconnects its listener.
        await visitor.send({"type": "message", "id": "v1", "text": "while B was not listening"})
        await visitor.until(lambda f: f["type"] == "ack" and f["id"] == "v1")
        seen = await agent.expect("event", chat=chat)
        while seen["event"].get("text") != "while B was not listening":
            seen = await agent.expect("event", chat=chat)


async def test_forged_announcements_show_nothing_that_is_not_stored(nodes, ws_client,
                                                                    postgres_url):
    a, _, agent = nodes
    async with ws_client(a.ws_url) as visitor:
        chat = await claimed_chat(visitor, a, agent)
        session = await a.call(lambda: _session_of(a, visitor.seen[0]["session"]))
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            for payload in (f"forged|event|{session}:999:c", f"forged|event|{session}:999",
                            "forged|chat|not a number",
                            "forged|unknown|1", "no separators", f"forged|event|{session}"):
                admin.execute("SELECT pg_notify('chat_live', %s)", (payload,))
        # The listener survived them, and the visitor's next stored frame is the next event.
        await agent.send(type="send", chat=chat, text="the real one", id="r1")
        real = await visitor.until(lambda f: "seq" in f)
        assert real["type"] == "reply" and real["text"] == "the real one"


async def _session_of(node, token: str) -> str:
    return node.chat.store.session_by_token(token).id
