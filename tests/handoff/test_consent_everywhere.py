"""The visitor's consent, followed by everything an agent sees of the conversation: the queue
list's last message, the chat card's summary, the transcript and the live messages, the form
panel and agent assist's query show numbers and dates in full on a yes only, and masked again
once the visitor withdraws ("hide my details", "不要給客服看我的資料"). Consent is asked after a
finished look-up too, and not for the office directory's form, which holds nothing personal.
Real server, real visitor and agent websockets, in English, Cantonese and Traditional Chinese."""

from __future__ import annotations

import json

import pytest

from tests.handoff.helpers import AgentClient, add_agent, is_state, reply_kind, waiting_ids

pytestmark = pytest.mark.timeout(600)

PR_CARD, PASSPORT, BIRTH = "900000198501010017", "XB2468013", "1985-01-01"  # demo data
APPLICATION, APPLICANT_PASSPORT = "A202603020017", "XA1234567"  # demo data, born 1988-04-12


@pytest.fixture(scope="module")
def consent_server(start_module_server):
    return start_module_server(CHAT_APPOINTMENTS_TODAY="2026-09-21")


def newest(snapshot: dict) -> dict:
    return max((c for q in snapshot["queues"] for c in q["waiting"]), key=lambda c: c["id"])


async def logged_in(server, username: str) -> AgentClient:
    add_agent(server.data_dir, username, queues="*", langs="zh,en")
    agent = await AgentClient.open(server.agent_ws_url)
    await agent.login(username)
    return agent


async def visitor_line(agent: AgentClient, chat_id: int) -> str:
    """The next message the visitor writes, as the agent's console shows it live."""
    while True:
        frame = await agent.expect("event", chat=chat_id)
        if frame["event"].get("type") == "visitor":
            return frame["event"]["text"]


def fields(chat: dict) -> dict[str, str]:
    return {f["name"]: f["value"] for f in chat["form"]["fields"]}

async def queued_or_routed(visitor) -> dict:
    """After the consent answer: the queue at once, or first the route's question (which
    business, which region) when the visitor has not said."""
    return await visitor.until(lambda f: is_state("queued")(f) or reply_kind("ask_option")(f),
                               timeout=60)


async def answer_the_route(visitor, frame: dict, option: tuple[str, str], region: tuple[str, str]) -> None:
    """Answer the route's two questions, if ``frame`` was the first of them, and reach the queue.
    ``option`` and ``region`` are (message id, text)."""
    if frame["type"] != "reply":
        return
    await visitor.send({"type": "message", "id": option[0], "text": option[1]})
    await visitor.until(reply_kind("ask_region"))
    await visitor.send({"type": "message", "id": region[0], "text": region[1]})
    await visitor.until(is_state("queued"), timeout=60)



async def test_a_yes_unmasks_every_view_and_hide_my_details_masks_them_again(
        consent_server, ws_client):
    agent = await logged_in(consent_server, "consent_en")
    async with ws_client(consent_server.ws_url) as visitor:
        await visitor.hello(lang="en")
        await visitor.ask("PR holder passport info", "e1")
        await visitor.send({"type": "message", "id": "e2", "text": f"{PR_CARD} {PASSPORT}"})
        await visitor.until(reply_kind("lookup_form"))
        await visitor.send({"type": "message", "id": "e3", "text": "Talk to a person"})
        await visitor.until(reply_kind("consent_ask"))
        await visitor.send({"type": "message", "id": "e4", "text": "ok"})
        assert (await visitor.until(reply_kind("consent")))["meta"]["agreed"] is True
        await visitor.until(is_state("queued"), timeout=60)
        written = f"my passport is {PASSPORT}, born {BIRTH}: is it ready?"
        await visitor.send({"type": "message", "id": "e5", "text": written})
        # The queue list's preview of the last message, in full.
        snap = await agent.queues_until(
            lambda s: bool(waiting_ids(s)) and newest(s).get("last_text") == written, timeout=30)
        item = newest(snap)
        assert item["consent"] is True
        await agent.send(type="claim", chat=item["id"])
        opened = await agent.expect("chat")
        chat = opened["chat"]
        # The form panel and the transcript, in full.
        assert fields(chat)["number"] == PR_CARD and fields(chat)["passport"] == PASSPORT
        said = json.dumps(opened["transcript"], ensure_ascii=False)
        assert PASSPORT in said and PR_CARD in said and BIRTH in said
        # Agent assist shows the visitor's question as written, and search the matched text.
        await agent.send(type="assist", chat=chat["id"])
        assert PASSPORT in (await agent.expect("assist"))["query"]
        await agent.send(type="search", query=PASSPORT)
        found = await agent.expect("search")
        assert any(PASSPORT in c["snippet"] for c in found["chats"] if c["id"] == chat["id"])

        await visitor.send({"type": "message", "id": "e6", "text": "hide my details"})
        told = await visitor.until(reply_kind("consent"))
        assert told["meta"]["agreed"] is False and "masked" in told["text"]
        # The open chat is sent again, masked: form panel and transcript.
        again = await agent.expect("chat")
        assert again["chat"]["consent"] is False
        assert fields(again["chat"])["passport"] == "XB*****13"
        assert fields(again["chat"])["number"] == "900************017"
        said = json.dumps(again, ensure_ascii=False)
        assert PASSPORT not in said and PR_CARD not in said and BIRTH not in said
        await visitor.send({"type": "message", "id": "e7", "text": f"it is {PASSPORT}"})
        line = await visitor_line(agent, chat["id"])
        while line == "hide my details":  # its own live event, after the chat sent again
            line = await visitor_line(agent, chat["id"])
        assert line == "it is XB*****13"
        await agent.send(type="assist", chat=chat["id"], query=None)
        assert PASSPORT not in (await agent.expect("assist"))["query"]
        await visitor.send({"type": "close"})
        await visitor.until(is_state("closed"))
    await agent.close()


async def test_a_finished_look_up_asks_for_consent_and_a_cantonese_yes_unmasks(
        consent_server, ws_client):
    agent = await logged_in(consent_server, "consent_yue")
    async with ws_client(consent_server.ws_url) as visitor:
        await visitor.hello(lang="zh")
        await visitor.ask(f"Can you check the progress of my application {APPLICATION}?", "y1")
        result = await visitor.ask(f"{APPLICANT_PASSPORT} 1988-04-12", "y2")
        assert result["meta"]["kind"] == "lookup_result", result
        # The look-up is over: no form is open, but the chat holds the visitor's numbers.
        await visitor.send({"type": "message", "id": "y3", "text": "我想搵人工客服"})
        ask = await visitor.until(reply_kind("consent_ask"))
        assert "是否同意客服查看完整信息" in ask["text"]
        await visitor.send({"type": "message", "id": "y4", "text": "得"})
        assert (await visitor.until(reply_kind("consent")))["meta"]["agreed"] is True
        frame = await queued_or_routed(visitor)
        await answer_the_route(visitor, frame, ("y5", "出入境證件"), ("y6", "深圳"))
        snap = await agent.queues_until(lambda s: bool(waiting_ids(s)), timeout=30)
        await agent.send(type="claim", chat=newest(snap)["id"])
        opened = await agent.expect("chat")
        assert opened["chat"]["consent"] is True
        said = json.dumps(opened["transcript"], ensure_ascii=False)
        assert APPLICANT_PASSPORT in said and APPLICATION in said
        await visitor.send({"type": "close"})
        await visitor.until(is_state("closed"))
    await agent.close()


async def test_a_traditional_withdrawal_to_the_bot_keeps_the_handoff_masked(
        consent_server, ws_client):
    agent = await logged_in(consent_server, "consent_hant")
    async with ws_client(consent_server.ws_url) as visitor:
        await visitor.hello(lang="zh")
        await visitor.ask(f"Can you check the progress of my application {APPLICATION}?", "t1")
        await visitor.ask(f"{APPLICANT_PASSPORT} 1988-04-12", "t2")
        await visitor.send({"type": "message", "id": "t3", "text": "轉人工客服"})
        await visitor.until(reply_kind("consent_ask"))
        await visitor.send({"type": "message", "id": "t4", "text": "可以"})
        assert (await visitor.until(reply_kind("consent")))["meta"]["agreed"] is True
        frame = await queued_or_routed(visitor)
        await visitor.send({"type": "message", "id": "t5", "text": "不要給客服看我的資料"})
        told = await visitor.until(reply_kind("consent"))
        # Replies stay in the script the visitor chose (Simplified: hello's "zh" locks it).
        assert told["meta"]["agreed"] is False and "遮盖" in told["text"]
        await answer_the_route(visitor, frame, ("t6", "出入境證件"), ("t7", "深圳"))
        snap = await agent.queues_until(lambda s: bool(waiting_ids(s)), timeout=30)
        assert newest(snap)["consent"] is False
        await agent.send(type="claim", chat=newest(snap)["id"])
        opened = await agent.expect("chat")
        assert opened["chat"]["consent"] is False
        said = json.dumps(opened, ensure_ascii=False)
        assert APPLICANT_PASSPORT not in said and APPLICATION not in said
        await visitor.send({"type": "close"})
        await visitor.until(is_state("closed"))
    await agent.close()


async def test_a_cantonese_no_keeps_everything_masked(consent_server, ws_client):
    agent = await logged_in(consent_server, "consent_no")
    async with ws_client(consent_server.ws_url) as visitor:
        await visitor.hello(lang="zh")
        await visitor.ask("PR holder passport info", "n1")
        await visitor.send({"type": "message", "id": "n2", "text": f"{PR_CARD} {PASSPORT}"})
        await visitor.until(reply_kind("lookup_form"))
        await visitor.send({"type": "message", "id": "n3", "text": "轉人工"})
        await visitor.until(reply_kind("consent_ask"))
        await visitor.send({"type": "message", "id": "n4", "text": "唔得"})
        assert (await visitor.until(reply_kind("consent")))["meta"]["agreed"] is False
        frame = await queued_or_routed(visitor)
        await answer_the_route(visitor, frame, ("n5", "出入境證件"), ("n6", "深圳"))
        await visitor.send({"type": "message", "id": "n7", "text": f"護照 {PASSPORT}"})
        snap = await agent.queues_until(
            lambda s: bool(waiting_ids(s)) and newest(s).get("last_text") == "護照 XB*****13",
            timeout=30)
        await agent.send(type="claim", chat=newest(snap)["id"])
        opened = await agent.expect("chat")
        assert opened["chat"]["consent"] is False
        assert fields(opened["chat"])["passport"] == "XB*****13"
        assert PASSPORT not in json.dumps(opened) and PR_CARD not in json.dumps(opened)
        # Search finds the chat by the number, and shows the match masked.
        await agent.send(type="search", query=PASSPORT)
        found = await agent.expect("search")
        assert any(c["id"] == opened["chat"]["id"] for c in found["chats"])
        assert PASSPORT not in json.dumps(found["chats"])
        await visitor.send({"type": "close"})
        await visitor.until(is_state("closed"))
    await agent.close()


async def consented(visitor, msg_id: str, text: str, after: int = 0) -> dict:
    """The consent notice that answers ``text`` (the bot's, or the handoff's while queued)."""
    await visitor.send({"type": "message", "id": msg_id, "text": text})
    return await visitor.until(lambda f: reply_kind("consent")(f) and f["seq"] > after)


async def test_after_a_no_consent_given_later_unmasks_and_is_withdrawn_again(
        consent_server, ws_client):
    """A visitor who said no can still agree later, in words of their own, and withdraw again:
    the newest word holds (handoff/disclosure.py)."""
    agent = await logged_in(consent_server, "consent_again")
    async with ws_client(consent_server.ws_url) as visitor:
        await visitor.hello(page_lang="en")
        await visitor.ask("PR holder passport info", "a1")
        await visitor.send({"type": "message", "id": "a2", "text": f"{PR_CARD} {PASSPORT}"})
        await visitor.until(reply_kind("lookup_form"))
        await visitor.send({"type": "message", "id": "a3", "text": "Talk to a person"})
        await visitor.until(reply_kind("consent_ask"))
        told = await consented(visitor, "a4", "no")
        assert told["meta"]["agreed"] is False
        frame = await queued_or_routed(visitor)
        # Said to the bot (the route's question waits) or to the queue: agreed now.
        told = await consented(visitor, "a5", "You can show my details to the agent", told["seq"])
        assert told["meta"]["agreed"] is True and "in full" in told["text"]
        await answer_the_route(visitor, frame, ("a6", "Entry-exit documents"), ("a7", "Shenzhen"))
        told = await consented(visitor, "a8", "唔好俾客服睇我嘅資料", told["seq"])
        assert told["meta"]["agreed"] is False and told["lang"] == "zh"
        told = await consented(visitor, "a9", "可以俾職員睇", told["seq"])  # after a withdrawal
        assert told["meta"]["agreed"] is True and told["lang"] == "zh"
        snap = await agent.queues_until(
            lambda s: bool(waiting_ids(s)) and newest(s).get("consent") is True, timeout=30)
        await agent.send(type="claim", chat=newest(snap)["id"])
        opened = await agent.expect("chat")
        assert PASSPORT in json.dumps(opened["transcript"], ensure_ascii=False)
        assert fields(opened["chat"])["passport"] == PASSPORT
        await consented(visitor, "a10", "hide my details", told["seq"])
        opened = await agent.expect("chat")  # what the console shows, sent again masked
        assert opened["chat"]["consent"] is False
        assert PASSPORT not in json.dumps(opened, ensure_ascii=False)
        await visitor.send({"type": "close"})
        await visitor.until(is_state("closed"))
    await agent.close()


@pytest.mark.parametrize(("answer", "script", "said"), [
    ("可以", "zh-Hans", "客服可以查看您填写的完整信息"),
    ("可以給客服看我的資料", "zh-Hant", "客服可以查看"),
    ("OK", "en", "the agent may see your details in full")])
async def test_the_acknowledgement_follows_the_answers_script(
        consent_server, ws_client, answer, script, said):
    """On the English page, "可以" is acknowledged in Chinese, in the answer's own script."""
    async with ws_client(consent_server.ws_url) as visitor:
        await visitor.hello(page_lang="en")
        await visitor.ask("PR holder passport info", "s1")
        await visitor.send({"type": "message", "id": "s2", "text": f"{PR_CARD} {PASSPORT}"})
        await visitor.until(reply_kind("lookup_form"))
        await visitor.send({"type": "message", "id": "s3", "text": "Talk to a person"})
        assert (await visitor.until(reply_kind("consent_ask")))["lang"] == "en"
        told = await consented(visitor, "s4", answer)
        assert told["meta"]["agreed"] is True
        assert told["script"] == script and said in told["text"], told
        await visitor.send({"type": "close"})
        await visitor.until(is_state("closed"))


async def test_the_office_form_holds_nothing_personal_so_no_question(consent_server, ws_client):
    """A person asked for while the office directory asks for a city: the form holds a place
    only, so the request goes on without the consent question."""
    async with ws_client(consent_server.ws_url) as visitor:
        await visitor.hello(lang="en")
        await visitor.send({"type": "message", "id": "o1",
                            "text": "Where is the nearest exit-entry office?"})
        await visitor.until(reply_kind("form"))
        await visitor.send({"type": "message", "id": "o2", "text": "Talk to a person"})
        frame = await visitor.until(lambda f: is_state("queued")(f) or (
            f["type"] == "reply" and f["meta"].get("kind") in (
                "ask_option", "consent_ask", "office_none")), timeout=60)
        assert frame.get("meta", {}).get("kind") not in ("consent_ask", "office_none")
        await visitor.send({"type": "close"})
        await visitor.until(is_state("closed"))


async def test_the_office_form_after_a_look_up_asks_first(consent_server, ws_client):
    """The same request after a finished look-up: the chat holds the visitor's numbers."""
    async with ws_client(consent_server.ws_url) as visitor:
        await visitor.hello(lang="zh")
        await visitor.ask(f"Can you check the progress of my application {APPLICATION}?", "p1")
        await visitor.ask(f"{APPLICANT_PASSPORT} 1988-04-12", "p2")
        await visitor.send({"type": "message", "id": "p3", "text": "附近的出入境办证大厅在哪里"})
        await visitor.until(reply_kind("form"))
        await visitor.send({"type": "message", "id": "p4", "text": "转人工"})
        await visitor.until(reply_kind("consent_ask"))
        await visitor.send({"type": "message", "id": "p5", "text": "no thanks"})
        assert (await visitor.until(reply_kind("consent")))["meta"]["agreed"] is False
        await visitor.send({"type": "close"})
        await visitor.until(is_state("closed"))


async def test_consent_and_its_withdrawal_on_postgresql(postgres_url, start_server, ws_client):
    """The same answer and withdrawal, with the conversation's context in PostgreSQL."""
    server = start_server(CHAT_DATABASE_URL=postgres_url)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHAT_DATABASE_URL", postgres_url)  # the accounts CLI's database
        agent = await logged_in(server, "consent_pg")
    async with ws_client(server.ws_url) as visitor:
        await visitor.hello(lang="zh")
        await visitor.ask("PR holder passport info", "g1")
        await visitor.send({"type": "message", "id": "g2", "text": f"{PR_CARD} {PASSPORT}"})
        await visitor.until(reply_kind("lookup_form"))
        await visitor.send({"type": "message", "id": "g3", "text": "轉人工"})
        await visitor.until(reply_kind("consent_ask"))
        await visitor.send({"type": "message", "id": "g4", "text": "好呀"})
        assert (await visitor.until(reply_kind("consent")))["meta"]["agreed"] is True
        frame = await queued_or_routed(visitor)
        await answer_the_route(visitor, frame, ("g5", "出入境证件"), ("g6", "深圳"))
        snap = await agent.queues_until(lambda s: bool(waiting_ids(s)), timeout=30)
        await agent.send(type="claim", chat=newest(snap)["id"])
        opened = await agent.expect("chat")
        assert fields(opened["chat"])["passport"] == PASSPORT
        await visitor.send({"type": "message", "id": "g7", "text": "唔好俾客服睇我嘅資料"})
        assert (await visitor.until(reply_kind("consent")))["meta"]["agreed"] is False
        again = await agent.expect("chat")
        assert again["chat"]["consent"] is False and PASSPORT not in json.dumps(again)
        await visitor.send({"type": "close"})
        await visitor.until(is_state("closed"))
    await agent.close()
