"""Two server processes on one PostgreSQL database (in process, each on its own port and loop):
the agents' commands and views are the cluster's, not each node's. A chat transferred to an
agent connected to the other node opens there (a transfer to an agent offline everywhere or full
is refused as on one node, and two transfers of one chat at once give it once), one transferred
to a queue goes to an agent taking chats on the other; the agents online, a supervisor's
overview, taking chats, a chat's notes, a supervisor watching a chat and the tickets list cross
the nodes."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest

from handoff import texts
from tests.bot.test_cross_node import claimed_chat, is_reply
from tests.bot.test_cross_node_assignment import (  # noqa: F401 (fixtures)
    agents,
    queued_visitor,
    two_nodes,
)
from tests.handoff.helpers import AgentClient, add_agent, is_state

pytestmark = pytest.mark.timeout(120)


def online_names(snapshot: dict) -> set[str]:
    return {a["username"] for a in snapshot["online_agents"]}


def transferred(visitor, name: str) -> list[dict]:
    """The "passed to agent <name>" notices the visitor got."""
    said = texts.say(texts.TRANSFERRED_AGENT, "en", agent=name)
    return [f for f in visitor.seen if f["type"] == "reply" and f.get("text") == said]


async def shows(console: AgentClient, predicate, timeout: float = 3) -> None:
    """Until the console's lists (the last snapshot with its deltas) satisfy ``predicate``."""
    if console.snapshot is None or not predicate(console.snapshot):
        await console.queues_until(predicate, timeout)


async def overview_until(console: AgentClient, predicate, timeout: float = 5) -> dict:
    """The supervisor's next pushed overview that satisfies ``predicate``."""
    async def loop() -> dict:
        while True:
            frame = await console.expect("overview", timeout)
            if predicate(frame):
                return frame
    return await asyncio.wait_for(loop(), timeout)


def agent_row(overview: dict, username: str) -> dict:
    return next(a for a in overview["agents"] if a["username"] == username)


async def test_a_chat_transferred_to_an_agent_on_the_other_node_opens_in_their_console(
        two_nodes, agents, ws_client):  # noqa: F811
    a, b = two_nodes
    add_agent(a.data_dir, "li", name="Li")
    add_agent(a.data_dir, "wang", name="Wang")
    li = await agents(a, "li", accepting=False)
    wang = await agents(b, "wang", accepting=False)
    async with ws_client(a.ws_url) as visitor:
        chat = await claimed_chat(visitor, a, li)
        await visitor.send({"type": "message", "id": "m1", "text": "My passport expires soon"})
        while (await li.expect("event", chat=chat))["event"].get("text") != "My passport expires soon":
            pass
        # Li's console lists Wang, connected to the other node, among the agents online.
        assert li.snapshot is not None and "wang" in online_names(li.snapshot)

        await li.send(type="transfer", chat=chat, agent="wang", note="passport renewal")
        await li.expect("released", chat=chat, reason="transferred")
        opened = await wang.expect("chat", timeout=5)
        assert opened["chat"]["id"] == chat and opened["chat"]["owner"] == "wang"
        said = [e.get("text") for e in opened["transcript"]]
        assert said.count("My passport expires soon") == 1
        assert opened["notes"][-1]["text"].endswith("passport renewal")
        await visitor.until(is_state("agent", agent="Wang"))
        await wang.send(type="send", chat=chat, text="Wang here", id="w1")
        await visitor.until(is_reply("Wang here"))
        assert len(transferred(visitor, "Wang")) == 1
        # The chat left Li's list and is in Wang's.
        await shows(li, lambda s: not s["mine"])
        await shows(wang, lambda s: chat in {c["id"] for c in s["mine"]})
        await visitor.send({"type": "message", "id": "m2", "text": "Thank you Wang"})
        while (await wang.expect("event", chat=chat))["event"].get("text") != "Thank you Wang":
            pass


async def test_a_transfer_to_an_agent_offline_everywhere_or_full_is_refused(
        two_nodes, agents, ws_client):  # noqa: F811
    a, b = two_nodes
    add_agent(a.data_dir, "li", name="Li")
    add_agent(a.data_dir, "wang", name="Wang", max_chats=1)
    add_agent(a.data_dir, "zhao", name="Zhao")  # never logs in
    li = await agents(a, "li", accepting=False)
    wang = await agents(b, "wang", accepting=False)
    async with ws_client(a.ws_url) as first, ws_client(b.ws_url) as second:
        chat = await claimed_chat(first, a, li)
        await wang.send(type="accepting", on=True)  # Wang's one slot, on node B, is taken
        await queued_visitor(second, b)
        await second.until(is_state("agent", agent="Wang"))
        await li.send(type="transfer", chat=chat, agent="wang")
        full = await li.expect("error")
        assert (full["code"], full["message"]) == ("at_capacity", "That agent has no free chat slot.")
        await li.send(type="transfer", chat=chat, agent="zhao")
        offline = await li.expect("error")
        assert (offline["code"], offline["message"]) == ("agent_offline", "That agent is not online.")
        # Nothing moved: the visitor was told nothing and Li still has the chat.
        await li.send(type="send", chat=chat, text="Still Li", id="l1")
        await li.expect("sent", chat=chat)
        await first.until(is_reply("Still Li"))
        assert not [f for f in first.seen if f["type"] == "state" and f.get("agent") != "Li"
                    and f["state"] == "agent"]
        assert not transferred(first, "Wang") and not transferred(first, "Zhao")


async def test_two_transfers_of_one_chat_at_once_from_two_nodes_give_it_once(
        two_nodes, agents, ws_client):  # noqa: F811
    a, b = two_nodes
    add_agent(a.data_dir, "li", name="Li")
    add_agent(a.data_dir, "wang", name="Wang")
    add_agent(a.data_dir, "zhao", name="Zhao")
    li_a = await agents(a, "li", accepting=False)
    li_b = await agents(b, "li", accepting=False)  # Li's second console, on the other node
    wang = await agents(b, "wang", accepting=False)
    zhao = await agents(a, "zhao", accepting=False)
    async with ws_client(a.ws_url) as visitor:
        chat = await claimed_chat(visitor, a, li_a)
        await shows(li_b, lambda s: chat in {c["id"] for c in s["mine"]})
        await asyncio.gather(li_a.send(type="transfer", chat=chat, agent="wang"),
                             li_b.send(type="transfer", chat=chat, agent="zhao"))
        await asyncio.gather(*(drain(console, 2) for console in (li_a, li_b, wang, zhao)))
        await visitor.until(lambda f: f["type"] == "state" and f.get("agent") in ("Wang", "Zhao"))
        await visitor.send({"type": "ping"})  # everything sent before the pong has come
        await visitor.until(lambda f: f["type"] == "pong")
        errors = [f for li in (li_a, li_b) for f in li.seen if f["type"] == "error"]
        assert len(errors) == 1, errors
        assert errors[0]["code"] in ("not_active", "not_owner")
        notices = transferred(visitor, "Wang") + transferred(visitor, "Zhao")
        assert len(notices) == 1
        winner = wang if transferred(visitor, "Wang") else zhao
        loser = zhao if winner is wang else wang
        assert [f for f in winner.seen if f["type"] == "chat" and f["chat"]["id"] == chat]
        assert not [f for f in loser.seen if f["type"] == "chat" and f["chat"]["id"] == chat]


async def drain(console: AgentClient, seconds: float) -> None:
    """Read whatever the console is sent for ``seconds`` (error frames too) into ``seen``."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while True:
                console.seen.append(json.loads(await console.ws.recv()))


async def test_who_is_online_and_the_overview_are_the_cluster_s(two_nodes, agents, ws_client):  # noqa: F811
    a, b = two_nodes
    add_agent(a.data_dir, "boss", name="Boss", role="supervisor")
    add_agent(a.data_dir, "wang", name="Wang")
    boss = await agents(a, "boss", accepting=False)
    await boss.send(type="overview")
    assert not agent_row(await boss.expect("overview"), "wang")["online"]

    wang = await agents(b, "wang", accepting=False)
    await shows(boss, lambda s: "wang" in online_names(s))
    await overview_until(boss, lambda o: agent_row(o, "wang")["online"])
    await wang.send(type="accepting", on=True)
    await overview_until(boss, lambda o: agent_row(o, "wang")["accepting"])
    # Wang's second console, on node A, takes chats as the first does.
    wang_here = await agents(a, "wang", accepting=False)
    await shows(wang_here, lambda s: s["accepting"])
    await wang_here.send(type="accepting", on=False)
    await shows(wang, lambda s: not s["accepting"])
    await wang_here.close()
    await wang.close()
    await shows(boss, lambda s: "wang" not in online_names(s))
    await overview_until(boss, lambda o: not agent_row(o, "wang")["online"])


async def test_a_supervisor_on_one_node_watches_and_notes_a_chat_held_on_the_other(
        two_nodes, agents, ws_client):  # noqa: F811
    a, b = two_nodes
    add_agent(a.data_dir, "boss", name="Boss", role="supervisor")
    add_agent(a.data_dir, "wang", name="Wang")
    boss = await agents(a, "boss", accepting=False)
    wang = await agents(b, "wang", accepting=False)
    async with ws_client(b.ws_url) as visitor:
        chat = await claimed_chat(visitor, b, wang)
        await boss.send(type="view", chat=chat)
        await boss.expect("chat")
        await visitor.send({"type": "message", "id": "m1", "text": "Is my visa ready?"})
        while (await boss.expect("event", chat=chat))["event"].get("text") != "Is my visa ready?":
            pass
        await wang.send(type="send", chat=chat, text="Checking now", id="w1")
        while (await boss.expect("event", chat=chat))["event"].get("text") != "Checking now":
            pass
        await boss.send(type="note", chat=chat, text="Mention the online status check")
        notes = await wang.expect("notes", chat=chat, timeout=3)
        assert notes["notes"][-1]["text"] == "Mention the online status check"
        assert not [f for f in visitor.seen if "online status check" in str(f.get("text"))]


async def tickets_until(console: AgentClient, predicate, timeout: float = 3) -> list[dict]:
    """The console's next tickets list that satisfies ``predicate``."""
    async def loop() -> list[dict]:
        while not predicate(tickets := (await console.expect("tickets", timeout))["tickets"]):
            pass
        return tickets
    return await asyncio.wait_for(loop(), timeout)


async def test_a_message_left_on_one_node_and_answered_on_the_other_leaves_every_list(
        two_nodes, agents, ws_client):  # noqa: F811
    a, b = two_nodes
    add_agent(a.data_dir, "li", name="Li")
    add_agent(a.data_dir, "wang", name="Wang")
    li = await agents(a, "li", accepting=False)
    wang = await agents(b, "wang", accepting=False)
    async with ws_client(a.ws_url) as visitor:
        await queued_visitor(visitor, a)

        await visitor.send({"type": "message", "id": "l1", "text": "leave a message"})
        await visitor.send({"type": "message", "id": "l2", "text": "Please call me back"})
        left = await tickets_until(wang, bool)  # in the list of the agent on the other node
        await li.send(type="ticket_reply", ticket=left[0]["id"], text="We will call you today.")
        await li.expect("ticket_done")
        await tickets_until(wang, lambda tickets: not tickets)


async def test_a_chat_transferred_to_a_queue_goes_to_the_agent_taking_chats_on_the_other_node(
        two_nodes, agents, ws_client):  # noqa: F811
    a, b = two_nodes
    add_agent(a.data_dir, "li", name="Li")
    add_agent(a.data_dir, "wang", name="Wang", queues="border:national")
    li = await agents(a, "li", accepting=False)
    wang = await agents(b, "wang")  # takes chats, of that queue only
    async with ws_client(a.ws_url) as visitor:
        chat = await claimed_chat(visitor, a, li)
        await li.send(type="transfer", chat=chat, queue="border:national")
        await li.expect("released", chat=chat, reason="transferred")
        given = await wang.expect("chat", timeout=5)
        assert (given["chat"]["id"], given["chat"]["queue"]) == (chat, "border:national")
        await visitor.until(is_state("agent", agent="Wang"))
        await wang.send(type="send", chat=chat, text="Border desk here", id="w1")
        await visitor.until(is_reply("Border desk here"))
