"""The personal look-ups inside the chat, over real websockets to a real server: each form in
English and Chinese (Cantonese too), what the visitor already said is taken, corrections, cancel,
a question midway, resuming after a reconnect, identity failures that say nothing of whether a
record exists, the lockout, and the passport e-document downloaded and verified."""

from __future__ import annotations

import urllib.request

import pytest

from services.documents import Documents
from services.signing import signing_key
from storage.backends import open_database
from tests.handoff.helpers import AgentClient, add_agent
from tests.handoff.test_server_handoff import chat_id_in

LIMITS = {"CHAT_LOOKUP_FAILURES_PER_SESSION": "2", "CHAT_LOOKUP_FAILURES_PER_IP": "50"}


@pytest.fixture(scope="module")
def lookup_server(start_module_server):
    return start_module_server(**LIMITS)


async def test_english_progress_with_the_number_in_the_request_and_a_correction(lookup_server,
                                                                                 ws_client):
    async with ws_client(lookup_server.ws_url) as c:
        await c.hello(lang="en")
        ask = await c.ask("Can you check the progress of my application A202603020017?", "p1")
        assert ask["meta"]["kind"] == "lookup_form" and ask["lang"] == "en"
        assert "Noted: document number" in ask["text"] and "passport number?" in ask["text"]
        ask = await c.ask("XA1234576", "p2")  # a typo, corrected below
        assert "date of birth" in ask["text"]
        ask = await c.ask("sorry, my passport number is XA1234567", "p3")
        assert "Noted: passport number" in ask["text"] and "date of birth" in ask["text"]
        result = await c.ask("12 April 1988", "p4")
        assert result["meta"]["kind"] == "lookup_result", result
        assert "Status: Additional material needed" in result["text"]
        assert "original employment certificate" in result["text"]  # what to do next
        assert "2026-03-09 Additional material needed" in result["text"]


async def test_chinese_pr_card_menu_choice_asks_only_for_what_is_missing(lookup_server,
                                                                         ws_client):
    async with ws_client(lookup_server.ws_url) as c:
        await c.hello(lang="zh")
        ask = await c.ask("永居证信息查询", "c1")
        assert ask["meta"]["kind"] == "lookup_form" and "身份证号码" in ask["text"]
        ask = await c.ask("900000198501010017，护照 XB2468013", "c2")
        assert "出生日期" in ask["text"] and "护照号码" not in ask["text"].split("\n")[-1]
        result = await c.ask("1985年1月1日", "c3")
        assert result["meta"]["kind"] == "lookup_result"
        assert "当前状态：有效" in result["text"] and "有效期至：2034-06-14" in result["text"]


async def test_cantonese_visa_request_answers_in_traditional(lookup_server, ws_client):
    async with ws_client(lookup_server.ws_url) as c:
        await c.hello()
        await c.send({"type": "message", "id": "y1", "text": "我想查下我嘅簽證"})
        # A typed wish the corpus also answers may get the how-to first (bot/lookup_form.py).
        ask = await c.until(lambda f: f["type"] == "reply" and f["meta"].get("kind") == "lookup_form")
        assert ask["script"] in ("zh-Hant", "yue")
        assert "證件號碼" in ask["text"]
        await c.ask("R202600081", "y2")
        await c.ask("XA1234567", "y3")
        result = await c.ask("1988-04-12", "y4")
        assert result["meta"]["kind"] == "lookup_result"
        assert "工作類居留許可" in result["text"] and "有效期至：2026-04-30" in result["text"]


async def test_a_question_midway_is_answered_then_the_form_asks_again(lookup_server, ws_client):
    async with ws_client(lookup_server.ws_url) as c:
        await c.hello(lang="en")
        await c.ask("Application progress", "q1")
        answer = await c.ask("How long does a residence permit extension take?", "q2")
        assert answer["meta"]["kind"] == "answer"
        again = await c.until(lambda f: f["type"] == "reply" and f["seq"] > answer["seq"])
        assert again["meta"]["kind"] == "lookup_form" and "application number" in again["text"]
        cancelled = await c.ask("cancel", "q3")
        assert cancelled["meta"]["kind"] == "lookup_cancelled"
        after = await c.ask("A202603020017", "q4")  # the form is gone: no look-up
        assert after["meta"]["kind"] != "lookup_form"


async def test_the_form_resumes_after_a_reconnect(lookup_server, ws_client):
    async with ws_client(lookup_server.ws_url) as c:
        welcome = await c.hello(lang="en")
        await c.ask("Check my application status A202602110042", "r1")
        last = await c.ask("XT7654321", "r2")
    async with ws_client(lookup_server.ws_url) as c:
        await c.hello(session=welcome["session"], last_seq=last["seq"])
        result = await c.ask("1975-11-30", "r3")
        assert result["meta"]["kind"] == "lookup_result"
        assert "Ready for collection" in result["text"]


async def test_failures_say_nothing_of_the_record_and_then_lock(lookup_server, ws_client):
    async with ws_client(lookup_server.ws_url) as c:
        await c.hello(lang="en")
        await c.ask("Application progress", "f1")
        wrong_birth = await c.ask("A202603020017 XA1234567 1988-04-13", "f2")
        assert wrong_birth["meta"]["kind"] == "lookup_failed"
    async with ws_client(lookup_server.ws_url) as c:
        await c.hello(lang="en")
        await c.ask("Application progress", "g1")
        no_record = await c.ask("A209912319999 XA1234567 1988-04-12", "g2")
        assert no_record["text"] == wrong_birth["text"]  # the same words, the same attempts left
        await c.ask("Application progress", "g3")
        locked = await c.ask("A209912319998 XA1234567 1988-04-12", "g4")
        assert locked["meta"]["kind"] == "lookup_locked" and "paused until" in locked["text"]
        await c.ask("Application progress", "g5")
        still = await c.ask("A202603020017 XA1234567 1988-04-12", "g6")  # right, but locked
        assert still["meta"]["kind"] == "lookup_locked"


async def test_passport_e_document_downloads_and_verifies(lookup_server, ws_client):
    async with ws_client(lookup_server.ws_url) as c:
        await c.hello(lang="en")
        await c.ask("PR holder passport info", "d1")
        result = await c.ask("900000198501010017 / XB2468013 / 1985-01-01", "d2")
    assert result["meta"]["kind"] == "lookup_result"
    link, code = result["meta"]["download"], result["meta"]["code"]
    assert link in result["text"] and link.startswith(lookup_server.url + "/documents/")
    with urllib.request.urlopen(link, timeout=10) as response:
        assert response.headers["Content-Type"] == "application/pdf"
        pdf = response.read()
    status, page, _ = lookup_server.get(f"/verify/{code}")
    assert status == 200 and 'data-status="genuine"' in page and "XB*****13" in page
    assert "XB2468013" not in page
    db = open_database(lookup_server.data_dir / "chat.sqlite3")
    try:
        documents = Documents(db, signing_key(lookup_server.data_dir))
        assert documents.verify_file(pdf).status == "genuine"
        assert documents.verify_file(pdf.replace(b"/Count 1", b"/Count 2")).status == "tampered"
        documents.revoke(code, 0.0 + 1e9 * 2)
    finally:
        db.close()
    status, page, _ = lookup_server.get(f"/verify/{code}")
    assert 'data-status="revoked"' in page
    assert lookup_server.get("/verify/AAAAAAAAAAAAAAAA")[0] == 404
    assert lookup_server.get("/documents/" + "x" * 43)[0] == 404


async def test_an_agent_sees_the_identity_data_masked(lookup_server, ws_client):
    add_agent(lookup_server.data_dir, "mei", name="Mei", queues="*", langs="zh,en")
    agent = await AgentClient.open(lookup_server.agent_ws_url)
    await agent.login("mei")
    async with ws_client(lookup_server.ws_url) as c:
        await c.hello(lang="en")
        await c.ask("Application progress", "m1")
        await c.ask("A202602110042, passport XT7654321, born 1975-11-30", "m2")
        # A person asked for after the look-up: first whether they may see its details.
        await c.send({"type": "message", "id": "m3", "text": "Talk to a person"})
        await c.until(lambda f: f["type"] == "reply" and f["meta"].get("kind") == "consent_ask")
        await c.send({"type": "message", "id": "m3b", "text": "No"})
        await c.until(lambda f: f["type"] == "state" and f["state"] == "queued", timeout=60)
        cid = await chat_id_in(agent)
        await agent.send(type="claim", chat=cid)
        opened = await agent.expect("chat")
        # What the visitor writes while the agent has the chat reaches the console masked too.
        await c.send({"type": "message", "id": "m4", "text": "my passport is XT7654321"})
        live = await agent.expect("event", chat=cid)
        while live["event"].get("type") != "visitor":
            live = await agent.expect("event", chat=cid)
    said = " ".join(e.get("text", "") for e in opened["transcript"])
    assert "XT*****21" in said and "[date]" in said
    assert "XT7654321" not in said and "1975-11-30" not in said and "A202602110042" not in said
    assert live["event"]["text"] == "my passport is XT*****21"
    await agent.close()
