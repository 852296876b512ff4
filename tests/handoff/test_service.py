"""HandoffService with the real Hub and Store (SQLite) and real agent websockets.

Visitors are sessions in the real store; what they would see is read back from the stored
transcript. The end-to-end tests through the chat server are in test_server_handoff.py.
"""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from bot.hub import Hub
from bot.settings import Settings
from bot.store import Store
from conversation.channel import Notice
from conversation.events import Visitor
from conversation.lifecycle import Reopen
from handoff.service import HandoffService
from tests.handoff.helpers import AgentClient, add_agent, waiting_ids


class Rig:
    def __init__(self, data_dir):
        self.settings = Settings(data_dir=data_dir, agent_max_failures=3, agent_lockout_s=60)
        self.data_dir = data_dir

    async def start(self):
        self.store = Store(self.settings.store_path)
        self.hub = Hub(self.store)
        self.service = HandoffService(self.settings, self.hub, None, database=self.hub.database)
        await self.service.start()
        self.server = await serve(self.service.handle_agent_connection, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/agent/ws"

    async def stop(self):
        self.server.close()
        await self.server.wait_closed()
        await self.service.stop()
        self.store.close()

    def visitor(self, lang="zh", script="zh-Hans"):
        info, _ = self.store.create_session(lang=lang, locked=True, channel="web")
        self.store.update_session(info.id, script=script)
        return info.id

    async def say(self, sid, text):
        event = await self.hub.emit(sid, Visitor(id=f"c{len(text)}{text[:3]}", text=text,
                                                 meta={"intent": "immigration_question", "confidence": 0.42}))
        await self.service.on_visitor_event(sid, event)
        return event

    def seen(self, sid, type_=None):
        return [e.to_wire() for e in self.store.transcript(sid) if type_ in (None, e.event.type)]


@pytest.fixture
async def rig(tmp_path):
    add_agent(tmp_path, "li", name="李明", queues="*", langs="zh,en")
    add_agent(tmp_path, "amy", name="Amy", queues="nia-service-center", langs="en")
    add_agent(tmp_path, "boss", name="主管", role="supervisor", queues="*", langs="zh,en")
    r = Rig(tmp_path)
    await r.start()
    yield r
    await r.stop()


async def test_no_agent_online_offers_ticket_and_hotline(rig):
    sid = rig.visitor(lang="zh", script="zh-Hant")
    await rig.service.escalate(sid, lang="zh", business_option="entry_exit_documents", region="深圳",
                               overseas=False, summary="签证延期", reason="explicit_request")
    replies = rig.seen(sid, "reply")
    assert "12367" in replies[-1]["text"] and "沒有在線" in replies[-1]["text"]  # Traditional
    assert replies[-1]["quick_replies"][0]["label"] == "留言"
    state = rig.seen(sid, "state")[-1]
    assert state["state"] == "queued" and state["queue"] == "exit-entry:shenzhen" and state["eta_s"] is None
    await rig.say(sid, "留言")
    await rig.say(sid, "我的签证下周到期，请回电 138")
    ref = re.search(r"編號 (T-\d{8}-[0-9A-Z]{4})", rig.seen(sid, "reply")[-1]["text"]).group(1)
    assert rig.store.session(sid).state == "bot"
    agent = await AgentClient.open(rig.url)
    await agent.login("li")
    tickets = await agent.expect("tickets")
    assert tickets["tickets"][0]["text"] == "我的签证下周到期，请回电 138"
    await agent.send(type="ticket_reply", ticket=1, text="您好，请携带护照到深圳出入境办理。")
    await agent.expect("ticket_done")
    assert rig.seen(sid, "reply")[-1]["meta"]["agent"] == "李明"
    assert ref in rig.seen(sid, "reply")[-1]["text"]
    await agent.close()


async def test_full_handoff_over_agent_websocket(rig):
    li = await AgentClient.open(rig.url)
    await li.login("li")
    sid = rig.visitor(lang="en", script="en")
    await rig.service.escalate(sid, lang="en", business_option=None, region=None, overseas=True,
                               summary="Visa extension in Shenzhen", reason="explicit_request")
    snap = await li.queues_until(lambda s: waiting_ids(s))
    item = next(c for q in snap["queues"] for c in q["waiting"])
    assert item["summary"] == "Visa extension in Shenzhen" and item["lang"] == "en" and item["position"] == 1
    assert "You are next in line" in rig.seen(sid, "reply")[-1]["text"]
    await rig.say(sid, "How do I extend my visa?")
    await li.send(type="claim", chat=item["id"])
    chat = await li.expect("chat")
    visitor_events = [e for e in chat["transcript"] if e["type"] == "visitor"]
    assert visitor_events[-1]["meta"] == {"intent": "immigration_question", "confidence": 0.42}
    assert rig.store.session(sid).state == "agent"
    await li.send(type="send", chat=item["id"], text="Hello, I can help.", id="a1")
    await li.expect("sent", id="a1")
    last = rig.seen(sid, "reply")[-1]
    assert (last["from"], last["meta"]["agent"], last["text"]) == ("agent", "李明", "Hello, I can help.")
    await rig.say(sid, "Thanks")
    ev = await li.expect("event")
    while ev["event"]["type"] != "visitor":
        ev = await li.expect("event")
    assert ev["event"]["text"] == "Thanks"
    await li.send(type="resolve", chat=item["id"])
    await li.expect("released", reason="resolved")
    assert rig.store.session(sid).state == "closed"
    await rig.service.on_rating(sid, 5, "great")
    rating = rig.service.store.ratings(sid)[0]
    assert (rating["score"], rating["agent"], rating["queue_id"]) == (5, "li", "nia-service-center")
    actions = [r["action"] for r in rig.service.store.audit_log(actor="li")]
    assert {"login", "claim", "send", "resolve"} <= set(actions)
    assert rig.service.store.csat() == [{"agent": "li", "queue_id": "nia-service-center",
                                         "ratings": 1, "average": 5.0}]
    await li.close()


async def test_auto_assign_least_loaded_and_transfer_and_handback(rig):
    li = await AgentClient.open(rig.url)
    await li.login("li")
    amy = await AgentClient.open(rig.url)
    await amy.login("amy")
    await amy.send(type="accepting", on=True)
    sid = rig.visitor(lang="en", script="en")
    await rig.service.escalate(sid, lang="en", business_option=None, region=None, overseas=False,
                               summary="question", reason="low_confidence")
    chat = await amy.expect("chat")
    cid = chat["chat"]["id"]
    assert rig.store.session(sid).state == "agent"
    # li cannot act on amy's chat
    await li.send(type="send", chat=cid, text="hi")
    assert (await li.expect("error"))["code"] == "not_owner"
    await amy.send(type="transfer", chat=cid, agent="li", note="needs Chinese docs")
    await amy.expect("released", reason="transferred")
    moved = await li.expect("chat")
    assert moved["notes"][-1]["text"].endswith("needs Chinese docs")
    await li.send(type="transfer", chat=cid, queue="exit-entry:guangdong", note="local office")
    await li.expect("released")
    assert rig.store.session(sid).state == "queued"
    assert rig.seen(sid, "state")[-1]["queue"] == "exit-entry:guangdong"
    await li.send(type="claim", chat=cid)
    await li.expect("chat")
    await li.send(type="handback", chat=cid)
    await li.expect("released", reason="handed_back")
    assert rig.store.session(sid).state == "bot"
    await li.close()
    await amy.close()


async def test_simultaneous_claims_exactly_one_wins(rig):
    a = await AgentClient.open(rig.url)
    b = await AgentClient.open(rig.url)
    await a.login("li")
    await b.login("boss")
    sid = rig.visitor()
    await rig.service.escalate(sid, lang="zh", business_option="comments_suggestions", region=None,
                               overseas=False, summary="意见", reason="comments_suggestions")
    cid = rig.service.store.active_chat(sid).id
    await asyncio.gather(a.send(type="claim", chat=cid), b.send(type="claim", chat=cid))

    async def outcome(client):
        while True:
            f = json.loads(await client.ws.recv())
            if f["type"] == "chat":
                return "won"
            if f["type"] == "error":
                assert f["code"] == "already_claimed"
                return "lost"
    results = await asyncio.wait_for(asyncio.gather(outcome(a), outcome(b)), 10)
    assert sorted(results) == ["lost", "won"]
    joined = [e for e in rig.seen(sid, "reply") if "已接入" in e["text"]]
    assert len(joined) == 1
    await a.close()
    await b.close()


async def test_visitor_socket_cannot_act_without_token(rig):
    async with connect(rig.url) as ws:
        await ws.send(json.dumps({"type": "claim", "chat": 1}))
        assert json.loads(await ws.recv())["code"] == "auth_required"
        await ws.send(json.dumps({"type": "auth", "token": "x" * 43}))
        assert json.loads(await ws.recv())["code"] == "unauthorized"
        await ws.send(json.dumps({"type": "hello", "session": None}))
        assert json.loads(await ws.recv())["code"] == "unknown_type"


async def test_restart_keeps_queue_and_ownership(rig, tmp_path):
    li = await AgentClient.open(rig.url)
    login = await li.login("li")
    s1, s2 = rig.visitor(), rig.visitor()
    for sid in (s1, s2):
        await rig.service.escalate(sid, lang="zh", business_option="port_clearance", region="上海",
                                   overseas=False, summary="通关", reason="explicit_request")
    c1 = rig.service.store.active_chat(s1).id
    await li.send(type="claim", chat=c1)
    await li.expect("chat")
    await li.close()
    await rig.stop()
    await rig.start()
    li = await AgentClient.open(rig.url)
    await li.send(type="auth", token=login["token"])
    await li.expect("auth_ok")
    mine = await li.expect("chat")
    assert mine["chat"]["id"] == c1
    snap = await li.expect("queues")
    assert waiting_ids(snap) == [rig.service.store.active_chat(s2).id]
    assert rig.store.session(s2).state == "queued"
    await li.close()


async def test_claim_rules_language_queue_and_capacity(rig):
    amy = await AgentClient.open(rig.url)
    await amy.login("amy")  # English only, NIA Immigration Service Center only
    zh_sid = rig.visitor()
    await rig.service.escalate(zh_sid, lang="zh", business_option="comments_suggestions", region=None,
                               overseas=False, summary="建议", reason="comments_suggestions")
    await amy.send(type="claim", chat=rig.service.store.active_chat(zh_sid).id)
    assert (await amy.expect("error"))["code"] == "wrong_language"
    border = rig.visitor(lang="en", script="en")
    await rig.service.escalate(border, lang="en", business_option=None, region=None, overseas=False,
                               summary="q", reason="explicit_request")
    ok = rig.service.store.active_chat(border).id
    other = rig.visitor()
    await rig.service.escalate(other, lang="zh", business_option="port_clearance", region="云南",
                               overseas=False, summary="口岸", reason="explicit_request")
    await amy.send(type="claim", chat=rig.service.store.active_chat(other).id)
    assert (await amy.expect("error"))["code"] == "forbidden"
    await amy.send(type="claim", chat=ok)
    await amy.expect("chat")
    await amy.close()


async def test_expired_token_or_disabled_agent_ends_the_connection(tmp_path):
    add_agent(tmp_path, "li", queues="*", langs="zh")
    r = Rig(tmp_path)
    r.settings = Settings(data_dir=tmp_path, agent_token_ttl_s=1)
    await r.start()
    try:
        li = await AgentClient.open(r.url)
        await li.login("li")
        await asyncio.sleep(1.2)
        await li.send(type="canned")
        assert (await li.expect("error"))["code"] == "unauthorized"
        await li.ws.wait_closed()
        assert li.ws.close_code == 4401
    finally:
        await r.stop()


async def test_an_agent_reading_a_chat_they_ended_sees_nothing_written_after_it(rig):
    li = await AgentClient.open(rig.url)
    await li.login("li")
    sid = rig.visitor(lang="en", script="en")
    await rig.service.escalate(sid, lang="en", business_option=None, region=None, overseas=True,
                               summary="Visa", reason="explicit_request")
    chat_id = rig.service.store.active_chat(sid).id
    await li.send(type="claim", chat=chat_id)
    await li.expect("chat")
    await li.send(type="resolve", chat=chat_id)
    await li.expect("released", reason="resolved")
    await asyncio.sleep(1.1)  # event times have whole seconds
    await rig.hub.emit(sid, Visitor(id="later", text="my passport number is X"))
    await li.send(type="view", chat=chat_id)
    frame = await li.expect("chat")
    assert frame["chat"]["status"] != "agent"
    assert all(e.get("id") != "later" for e in frame["transcript"])
    await li.close()


async def test_escalations_are_limited_per_conversation(rig):
    sid = rig.visitor(lang="en", script="en")
    for _ in range(3):
        await rig.service.escalate(sid, lang="en", business_option=None, region=None,
                                   overseas=True, summary="Visa", reason="explicit_request")
        assert rig.store.session(sid).state == "queued"
        await rig.service.on_close(sid)
        await rig.service.conversations.apply(sid, Reopen())  # the visitor writes again
    await rig.service.escalate(sid, lang="en", business_option=None, region=None, overseas=True,
                               summary="Visa", reason="explicit_request")
    assert rig.service.store.active_chat(sid) is None and rig.store.session(sid).state == "bot"
    assert "too many requests" in rig.seen(sid, "reply")[-1]["text"]


async def test_a_transfer_to_the_agent_who_has_the_chat_says_it_is_already_theirs(rig):
    li = await AgentClient.open(rig.url)
    await li.login("li")
    boss = await AgentClient.open(rig.url)
    await boss.login("boss")
    sid = rig.visitor(lang="en", script="en")
    await rig.service.escalate(sid, lang="en", business_option=None, region=None, overseas=True,
                               summary="visa", reason="explicit_request")
    cid = rig.service.store.active_chat(sid).id
    await li.send(type="claim", chat=cid)
    await li.expect("chat")
    told = len(rig.seen(sid))
    await li.send(type="transfer", chat=cid, agent="li", note="to myself")
    error = await li.expect("error")
    assert (error["code"], error["message"], error["field"]) == (
        "already_owner", "This chat is already yours.", "agent")
    await boss.send(type="transfer", chat=cid, agent="li")
    error = await boss.expect("error")
    assert (error["code"], error["message"]) == ("already_owner", "That agent already has this chat.")
    # Nothing moved and the visitor was told nothing.
    chat = rig.service.store.active_chat(sid)
    assert (chat.status, chat.owner) == ("agent", "li") and len(rig.seen(sid)) == told
    await li.close()
    await boss.close()


@pytest.mark.parametrize("script", ["zh-Hant", "yue"])
async def test_traditional_visitors_get_agent_and_system_text_converted_once(rig, script):
    """准 is both a Simplified and a Traditional character; converted twice, 准許 ("permitted")
    would become 準許. Every text a visitor gets from the handoff is converted exactly once."""
    li = await AgentClient.open(rig.url)
    await li.login("li")
    sid = rig.visitor(lang="zh", script=script)
    await rig.service.escalate(sid, lang="zh", business_option=None, region=None, overseas=False,
                               summary="签证延期", reason="explicit_request")
    cid = rig.service.store.active_chat(sid).id
    await li.send(type="claim", chat=cid)
    await li.expect("chat")
    joined = rig.seen(sid, "reply")[-1]
    assert joined["text"] == "人工客服 李明 已接入，正在為您服務。" and joined["script"] == script
    await li.send(type="send", chat=cid, text="您的延期申请已获准许，请于下周一前来领取。", id="a1")
    await li.expect("sent", id="a1")
    said = rig.seen(sid, "reply")[-1]
    assert said["text"] == "您的延期申請已獲准許，請於下週一前來領取。"
    assert "準" not in said["text"] and said["script"] == script
    await li.send(type="resolve", chat=cid)
    await li.expect("released", reason="resolved")
    resolved = rig.seen(sid, "reply")[-1]["text"]
    assert resolved.startswith("本次人工服務已結束，感謝您的諮詢。")
    # A notice with such a word, through the same channel (a queue's or an agent's name would).
    await rig.hub.say(sid, Notice("已准许"))
    assert rig.seen(sid, "reply")[-1]["text"] == "已准許"
    await li.close()
