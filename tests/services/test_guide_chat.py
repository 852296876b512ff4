"""The service guides inside the chat, over real websockets to a real server: a question answered
as before plus a "Download checklist" button, the "Service guides" menu choice asking which
procedure, the checklist in the visitor's script, and its PDF behind the download link."""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request

import pytest


@pytest.fixture(scope="module")
def guide_server(start_module_server):
    return start_module_server()


def pdf_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.headers["Cache-Control"] == "no-store"
        pdf = response.read()
    assert pdf.startswith(b"%PDF")
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
                          ).stdout.decode()


def button(reply: dict, label: str) -> dict:
    return next(q for q in reply["quick_replies"] if q["label"] == label)


async def test_english_question_then_the_checklist_and_its_pdf(guide_server, ws_client):
    async with ws_client(guide_server.ws_url) as c:
        await c.hello(lang="en")
        answer = await c.ask("What do I need for a work residence permit?", "e1")
        assert answer["meta"]["kind"] == "answer" and answer["meta"]["entry"] == "work-residence-permit"
        assert "work permit" in answer["text"]  # answered as before
        download = button(answer, "Download checklist")
        assert answer["meta"]["guide"] == "residence-permit-work"
        checklist = await c.ask(download["value"], "e2")
        assert checklist["meta"]["kind"] == "guide", checklist
        assert "☐ work permit" in checklist["text"] and "☐ letter from the employer" in checklist["text"]
        assert "RMB 400 under 1 year" in checklist["text"]  # the corpus's fee, as it says it
        assert any(s["url"] and "nia.gov.cn" in s["url"] or "gov.cn" in (s["url"] or "")
                   for s in checklist["sources"])
        text = pdf_text(checklist["meta"]["download"])
        assert "Documents to bring" in text and "work permit" in text and "Rules and sources" in text


async def test_chinese_question_gets_the_download_button(guide_server, ws_client):
    async with ws_client(guide_server.ws_url) as c:
        await c.hello(lang="zh")
        answer = await c.ask("办理工作类居留许可需要什么材料", "z1")
        assert answer["meta"]["kind"] == "answer" and answer["meta"].get("guide") == "residence-permit-work"
        checklist = await c.ask(button(answer, "下载材料清单")["value"], "z2")
        assert checklist["meta"]["kind"] == "guide" and "☐ 工作许可" in checklist["text"]
        text = pdf_text(checklist["meta"]["download"])
        assert "需要准备的材料" in text and "工作许可" in text


async def test_the_menu_choice_asks_which_procedure_in_traditional(guide_server, ws_client):
    async with ws_client(guide_server.ws_url) as c:
        await c.hello()
        pick = await c.ask("辦事指南", "t1")
        assert pick["meta"]["kind"] == "guide_pick" and pick["script"] == "zh-Hant"
        assert "residence-permit-work" in pick["meta"]["guides"] and "transit-240h" in pick["meta"]["guides"]
        work = button(pick, "工作類居留證件（在華工作的外國人）")
        checklist = await c.ask(work["value"], "t2")
        assert checklist["meta"]["kind"] == "guide" and "☐ 工作許可" in checklist["text"]
        assert "用人單位出具的函件" in checklist["text"]
        text = pdf_text(checklist["meta"]["download"])
        assert "需要準備的材料" in text and "工作許可" in text


async def test_english_menu_choice_then_a_guide_with_an_as_of_date(guide_server, ws_client):
    async with ws_client(guide_server.ws_url) as c:
        await c.hello(lang="en")
        pick = await c.ask("Service guides", "m1")
        assert pick["meta"]["kind"] == "guide_pick" and len(pick["quick_replies"]) >= 10
        transit = next(q for q in pick["quick_replies"] if "240-hour" in q["label"])
        checklist = await c.ask(transit["value"], "m2")
        assert checklist["meta"]["as_of"] == "2025-06-12"
        assert "Information as of 2025-06-12" in checklist["text"]
        assert "☐ a valid international travel document (passport)" in checklist["text"]
        assert "Information as of: 2025-06-12" in pdf_text(checklist["meta"]["download"])


async def test_a_wrong_link_is_not_found(guide_server):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{guide_server.url}/guides/{'x' * 43}", timeout=10)
    assert refused.value.code == 404


async def test_the_checklist_link_on_postgresql(postgres_url, start_server, ws_client):
    # postgres_url first: its database is dropped after the server stopped.
    server = start_server(CHAT_DATABASE_URL=postgres_url)
    async with ws_client(server.ws_url) as c:
        await c.hello(lang="zh")
        pick = await c.ask("办事指南", "p1")
        stay = button(pick, "外国人停留证件：什么情况下需要办")
        checklist = await c.ask(stay["value"], "p2")
        assert checklist["meta"]["kind"] == "guide" and checklist["meta"]["guide"] == "stay-permit"
        assert "有效期" in pdf_text(checklist["meta"]["download"])
