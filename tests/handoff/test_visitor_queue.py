"""What a queued visitor meets when no agent is online, and visitors who leave the queue.

Through the real server (websockets): with nobody online a message typed in the queue is answered
and "Leave a message" is offered again; a visitor whose connections are all gone for the grace
period leaves the queue (what they wrote becomes a ticket with a number like T-20261206-7K3Q) and
the others move up; a visitor back within the grace period keeps their place; the ticket number
typed in any later chat shows the answer, in English and Chinese.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.handoff.helpers import AgentClient, add_agent, is_state

pytestmark = pytest.mark.timeout(600)

GRACE_S = 3
REF = re.compile(r"T-\d{8}-[0-9A-HJKMNP-TV-Z]{4}")


@pytest.fixture(scope="module")
def queue_server(start_module_server):
    # In-process with the stand-in pipeline (tests/pipeline_stand_in.py): no answer here needs
    # the models, asking for a person and the option picker work as in production.
    return start_module_server(stand_in=True, CHAT_VISITOR_GONE_GRACE_S=str(GRACE_S))


def system_reply(needle: str):
    return lambda f: f["type"] == "reply" and f["from"] == "system" and needle in f["text"]


async def queue_en(visitor, msg_id: str) -> dict:
    await visitor.send({"type": "message", "id": msg_id, "text": "Talk to a person"})
    return await visitor.until(is_state("queued"), timeout=60)


async def queue_zh(visitor, prefix: str) -> dict:
    await visitor.send({"type": "message", "id": prefix + "1", "text": "转人工客服"})
    await visitor.until(lambda f: f["type"] == "reply" and f.get("meta", {}).get("kind") == "ask_option", 60)
    await visitor.send({"type": "message", "id": prefix + "2", "text": "意见建议"})
    return await visitor.until(is_state("queued"), timeout=60)


async def test_no_agent_online_a_message_in_the_queue_is_answered_and_leave_a_message_stays(
        queue_server, ws_client):
    async with ws_client(queue_server.ws_url) as visitor:
        await visitor.hello(lang="en")
        queued = await queue_en(visitor, "e1")
        assert queued["eta_s"] is None  # nobody online: no invented wait
        await visitor.send({"type": "message", "id": "e2", "text": "hello? is anyone there"})
        still = await visitor.until(system_reply("Still no agent is online"))
        assert [q["label"] for q in still["quick_replies"]] == ["Leave a message"]
        await visitor.send({"type": "message", "id": "e3", "text": "Leave a message"})
        await visitor.until(system_reply("Please write your question"))
        await visitor.send({"type": "message", "id": "e4", "text": "My visa expires on Friday"})
        done = await visitor.until(system_reply("received"))
        assert REF.search(done["text"]) and done["meta"]["ticket"] == REF.search(done["text"]).group()
        await visitor.send({"type": "close"})
    async with ws_client(queue_server.ws_url) as visitor:
        await visitor.hello(lang="zh")
        await queue_zh(visitor, "z")
        await visitor.send({"type": "message", "id": "z3", "text": "有人吗"})
        still = await visitor.until(system_reply("目前仍没有在线的人工客服"))
        assert [q["label"] for q in still["quick_replies"]] == ["留言"]
        await visitor.send({"type": "close"})


async def test_a_visitor_who_leaves_is_not_a_ghost_and_the_ticket_number_works_anywhere(
        queue_server, ws_client):
    server = queue_server
    async with ws_client(server.ws_url) as stays, ws_client(server.ws_url) as second:
        await stays.hello(lang="en")
        await queue_en(stays, "s1")
        await second.hello(lang="en")
        queued = await queue_en(second, "b1")
        assert queued["position"] == 2
        async with ws_client(server.ws_url) as leaves:
            await leaves.hello(lang="zh")
            third = await queue_zh(leaves, "g")
            assert third["position"] == 3
            await leaves.send({"type": "message", "id": "g3", "text": "我的签证下周五到期，怎么办？"})
            await leaves.until(lambda f: f["type"] == "ack" and f["id"] == "g3")
        # the first visitor leaves too, without writing anything while waiting
        await stays.close()
        # both are gone for longer than the grace period: the second visitor is now first
        moved = await second.until(is_state("queued", position=1), timeout=GRACE_S + 15)
        assert moved["eta_s"] is None
        await second.send({"type": "close"})
        await second.until(is_state("closed"))
    add_agent(server.data_dir, "desk", queues="*", langs="zh,en")
    desk = await AgentClient.open(server.agent_ws_url)
    await desk.login("desk")
    tickets = (await desk.expect("tickets"))["tickets"]
    ticket = [t for t in tickets if t["text"] == "我的签证下周五到期，怎么办？"]
    assert ticket, tickets
    ticket = ticket[0]
    assert REF.fullmatch(ticket["ref"])
    # An agent finds it by its number, as a visitor would quote it on the phone.
    await desk.send(type="search", query=ticket["ref"])
    found = await desk.expect("search")
    assert [t["ref"] for t in found["tickets"]] == [ticket["ref"]]
    # Any later chat, another device: the number, written loosely, shows the state, then the answer.
    async with ws_client(server.ws_url) as phone:
        await phone.hello(lang="zh")
        await phone.send({"type": "message", "id": "p1", "text": "我的留言编号 " + ticket["ref"].lower()})
        pending = await phone.until(system_reply("尚未回复"))
        assert ticket["ref"] in pending["text"]
        await desk.send(type="ticket_reply", ticket=ticket["id"], text="请携带护照到当地出入境管理机构办理延期。")
        await desk.expect("ticket_done")
        await phone.send({"type": "message", "id": "p2", "text": ticket["ref"].replace("-", " ")})
        answer = await phone.until(system_reply("已有回复"))
        assert "请携带护照" in answer["text"]
    async with ws_client(server.ws_url) as other:
        await other.hello(lang="en")
        await other.send({"type": "message", "id": "o1", "text": ticket["ref"]})
        answer = await other.until(system_reply("The answer to your message"))
        assert "请携带护照" in answer["text"]
        await other.send({"type": "message", "id": "o2", "text": "T-20200101-ZZZZ"})
        await other.until(system_reply("No message with the number T-20200101-ZZZZ"))
    await desk.close()


async def test_a_visitor_back_within_the_grace_period_keeps_their_place(queue_server, ws_client):
    server = queue_server
    async with ws_client(server.ws_url) as first, ws_client(server.ws_url) as behind:
        welcome = await first.hello(lang="en")
        await queue_en(first, "k1")
        await behind.hello(lang="en")
        assert (await queue_en(behind, "k2"))["position"] == 2
        await first.close()
        await asyncio.sleep(GRACE_S / 3)
        async with ws_client(server.ws_url) as back:
            again = await back.hello(session=welcome["session"], last_seq=0)
            assert again["state"] == "queued"
            await asyncio.sleep(GRACE_S + 2)
            with pytest.raises(TimeoutError):
                await behind.until(is_state("queued", position=1), timeout=1)
            await back.send({"type": "close"})
        await behind.until(is_state("queued", position=1), timeout=10)
        await behind.send({"type": "close"})


async def test_ticket_numbers_cannot_be_found_by_trying(queue_server, ws_client):
    """(Last in this module: it uses up this client address's tries for the hour.)"""
    async with ws_client(queue_server.ws_url) as guesser:
        await guesser.hello(lang="en")
        misses = 0
        for i in range(12):
            await guesser.send({"type": "message", "id": f"t{i}", "text": f"T-20200101-{i:04d}"})
            said = await guesser.until(lambda f: f["type"] == "reply" and f["from"] == "system")
            if "Too many message numbers tried" in said["text"]:
                break
            assert "No message with the number" in said["text"]
            misses += 1
        assert 1 <= misses <= 10 and "call the 12367 hotline" in said["text"]
