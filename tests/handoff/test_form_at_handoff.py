"""A visitor who asks for a person in the middle of a service form: the agent who opens the chat
sees which service, what was given (masked: never a full passport number or date of birth) and
which question was pending. Real server, real visitor and agent websockets."""

from __future__ import annotations

import json

import pytest

from tests.handoff.helpers import PASSWORD, AgentClient, add_agent, is_state, reply_kind, waiting_ids

pytestmark = pytest.mark.timeout(600)

PR_CARD, PASSPORT, BIRTH = "900000198501010017", "XB2468013", "1985-01-01"  # demo data


@pytest.fixture(scope="module")
def form_server(start_module_server):
    return start_module_server(CHAT_APPOINTMENTS_TODAY="2026-09-21")


async def claimed_chat(agent: AgentClient, after: int = 0) -> dict:
    snap = await agent.queues_until(lambda s: any(i > after for i in waiting_ids(s)), timeout=30)
    cid = max(waiting_ids(snap))
    await agent.send(type="claim", chat=cid)
    return (await agent.expect("chat"))["chat"]


def fields(form: dict) -> dict[str, str]:
    return {f["name"]: f["value"] for f in form["fields"]}


async def test_a_look_up_left_for_a_person_shows_its_fields_masked(form_server, ws_client):
    add_agent(form_server.data_dir, "formsagent", queues="*", langs="zh,en")
    agent = await AgentClient.open(form_server.agent_ws_url)
    await agent.login("formsagent")
    async with ws_client(form_server.ws_url) as visitor:
        await visitor.hello(lang="en")
        await visitor.ask("PR holder passport info", "l1")
        await visitor.send({"type": "message", "id": "l2", "text": f"{PR_CARD} {PASSPORT}"})
        await visitor.until(reply_kind("lookup_form"))
        await visitor.send({"type": "message", "id": "l3", "text": "Talk to a person"})
        await visitor.until(reply_kind("consent_ask"))
        await visitor.send({"type": "message", "id": "l4", "text": "No, keep them masked"})
        await visitor.until(is_state("queued"), timeout=60)
        chat = await claimed_chat(agent)
        form = chat["form"]
        assert form["service"] == "service_passport_info"
        assert form["name"] == {"zh": "永居人员护照信息查询", "en": "PR holder passport info"}
        assert fields(form) == {"number": "900************017", "passport": "XB*****13"}
        assert form["asking"]["en"] == "Date of birth"
        assert PASSPORT not in json.dumps(form) and PR_CARD not in json.dumps(form)
        assert chat["consent"] is False
        assert PASSPORT not in json.dumps(chat)  # nor in the transcript
        await visitor.send({"type": "close"})
        await visitor.until(is_state("closed"))
    await agent.ws.close()


async def test_a_booking_left_for_a_person_in_chinese_survives_the_route_questions(
        form_server, ws_client):
    add_agent(form_server.data_dir, "formsagent2", queues="*", langs="zh,en")
    agent = await AgentClient.open(form_server.agent_ws_url)
    await agent.login("formsagent2")
    async with ws_client(form_server.ws_url) as visitor:
        await visitor.hello(lang="zh")
        times = await visitor.ask("我想预约下周二在成都办签证延期", "z1")
        assert times["meta"]["field"] == "time"
        await visitor.send({"type": "message", "id": "z2", "text": "转人工客服"})
        consent = await visitor.until(reply_kind("consent_ask"))
        assert "是否同意客服查看完整信息" in consent["text"]
        await visitor.send({"type": "message", "id": "z2b", "text": "同意"})
        await visitor.until(reply_kind("ask_option"))
        await visitor.send({"type": "message", "id": "z3", "text": "出入境证件"})
        await visitor.until(reply_kind("ask_region"))
        await visitor.send({"type": "message", "id": "z4", "text": "深圳"})
        await visitor.until(is_state("queued"), timeout=60)
        chat = await claimed_chat(agent)
        form = chat["form"]
        assert form["service"] == "service_appointment"
        given = fields(form)
        assert given["service"] == "签证延期" and given["date"] == "2026-09-29"
        assert "成都" in given["office"]
        assert form["asking"] == {"zh": "时间", "en": "Time"}
        assert chat["consent"] is True
        await visitor.send({"type": "close"})
        await visitor.until(is_state("closed"))
    await agent.ws.close()


async def test_the_console_shows_the_form_in_the_side_panel(form_server, ws_client):
    from tests.handoff.test_console_browser import ARGS, CHROMIUM, axe_violations

    playwright = pytest.importorskip("playwright.async_api")
    add_agent(form_server.data_dir, "formsweb", queues="*", langs="zh,en")
    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = await browser.new_page(viewport={"width": 1400, "height": 860})
        await page.goto(f"{form_server.url}/console")
        await page.fill("#username", "formsweb")
        await page.fill("#password", PASSWORD)
        await page.click("#login-form button")
        await page.wait_for_selector("#work-view:not([hidden])")
        async with ws_client(form_server.ws_url) as visitor:
            await visitor.hello(lang="en")
            await visitor.ask("PR holder passport info", "w1")
            await visitor.send({"type": "message", "id": "w2", "text": f"{PR_CARD} {PASSPORT}"})
            await visitor.until(reply_kind("lookup_form"))
            await visitor.send({"type": "message", "id": "w3", "text": "Talk to a person"})
            await visitor.until(reply_kind("consent_ask"))
            await visitor.send({"type": "message", "id": "w4", "text": "no"})
            await visitor.until(is_state("queued"), timeout=60)
            newest = page.locator("#queues li[data-chat]").last
            await newest.wait_for()
            await newest.locator("button.claim").click()
            panel = page.locator("#form-state")
            await panel.wait_for()
            text = await panel.inner_text()
            assert "永居人员护照信息查询 · PR holder passport info" in text
            assert "XB*****13" in text and "900************017" in text
            assert "Date of birth" in text  # the question that was pending
            assert PASSPORT not in await page.content()
            assert "Details masked: the visitor declined" in await page.locator("#chat-head").inner_text()
            assert await axe_violations(page) == []
            await visitor.send({"type": "close"})
            await visitor.until(is_state("closed"))
        await browser.close()


async def test_a_visitor_who_agrees_is_shown_unmasked(form_server, ws_client):
    """On a yes, the agent's transcript and what the visitor writes later show the numbers and
    dates in full, and the console says the visitor agreed."""
    add_agent(form_server.data_dir, "formsagent3", queues="*", langs="zh,en")
    agent = await AgentClient.open(form_server.agent_ws_url)
    await agent.login("formsagent3")
    async with ws_client(form_server.ws_url) as visitor:
        await visitor.hello(lang="en")
        await visitor.ask("PR holder passport info", "y1")
        await visitor.send({"type": "message", "id": "y2", "text": f"{PR_CARD} {PASSPORT}"})
        await visitor.until(reply_kind("lookup_form"))
        await visitor.send({"type": "message", "id": "y3", "text": "Talk to a person"})
        ask = await visitor.until(reply_kind("consent_ask"))
        assert [q["value"] for q in ask["quick_replies"]] == ["Yes, the agent may see them",
                                                             "No, keep them masked"]
        await visitor.send({"type": "message", "id": "y4", "text": "Yes, the agent may see them"})
        ack = await visitor.until(reply_kind("consent"))
        assert ack["meta"]["agreed"] is True
        await visitor.until(is_state("queued"), timeout=60)
        snap = await agent.queues_until(lambda s: bool(waiting_ids(s)), timeout=30)
        await agent.send(type="claim", chat=max(waiting_ids(snap)))
        opened = await agent.expect("chat")
        chat = opened["chat"]
        assert chat["consent"] is True
        said = " ".join(e.get("text", "") for e in opened["transcript"])
        assert PASSPORT in said and PR_CARD in said
        await visitor.send({"type": "message", "id": "y5", "text": f"born {BIRTH}"})
        live = await agent.expect("event", chat=chat["id"])
        while live["event"].get("type") != "visitor":
            live = await agent.expect("event", chat=chat["id"])
        assert live["event"]["text"] == f"born {BIRTH}"
        await visitor.send({"type": "close"})
        await visitor.until(is_state("closed"))
    await agent.ws.close()
