"""The office directory inside the chat, over real websockets to a real server: the menu press
asks for the city, a question naming one is answered at once, only verified fields are shown,
a place without offices gets the official directory, cancel leaves, scripts are followed."""

from __future__ import annotations

import re

UNVERIFIED_ZH = "出入境办证机构信息查询"


async def test_menu_press_asks_the_city_then_shows_guangzhou(shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello(lang="zh")
        ask = await c.ask("出入境办证机构查询", "m1")
        assert "哪个城市" in ask["text"]
        assert "取消" in [q["value"] for q in ask["quick_replies"]]
        reply = await c.ask("广州", "m2")
        assert reply["meta"]["kind"] == "office"
        assert "广州市各区公安分局" in reply["text"]
        # Guangzhou's address, hours and phone are not verified: none is shown, and each points
        # to the NIA online directory and area code + 12367 instead.
        assert reply["text"].count(UNVERIFIED_ZH) == 3 and "12367" in reply["text"]
        assert not re.search(r"\d{3,4}-\d{7,8}", reply["text"])


async def test_english_question_naming_the_city_is_answered_at_once(shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello(lang="en")
        answer = await c.ask("where is the exit-entry office in Shanghai?", "e1")
        # Our corpus answer first (it names the city's 12367 line), the directory's offices under it.
        assert answer["meta"]["kind"] == "answer" and "021-12367" in answer["text"]
        reply = await c.until(lambda f: f["type"] == "reply" and f["seq"] > answer["seq"])
        assert reply["lang"] == "en" and reply["meta"]["kind"] == "office_list"
        assert "No. 1500 Minsheng Road" in reply["text"]
        assert "area code + 12367" in reply["text"]  # no hours or phone verified for Shanghai
        assert any("shine.cn" in s["url"] or "chinaservicesinfo" in s["url"]
                   for s in reply["sources"])
        names = [q["value"] for q in reply["quick_replies"]]
        assert "Shanghai permanent residence service centre" in names
        # Several offices: a button picks one, shown in full.
        detail = await c.ask("Shanghai permanent residence service centre", "e2")
        assert detail["meta"]["kind"] == "office"
        assert "Lane 36 Xuelin Road" in detail["text"] and "Office hours: not verified" in detail["text"]
        first = await c.ask("where is the exit-entry office in Guangzhou?", "e3")
        assert first["meta"]["kind"] == "answer", first
        guangzhou = await c.until(lambda f: f["type"] == "reply" and f["seq"] > first["seq"])
        assert guangzhou["meta"]["kind"] == "office"
        assert guangzhou["text"].startswith("Guangzhou district public-security bureaus")
        assert "Address: not verified: see the Exit-entry office information inquiry" in guangzhou["text"]


async def test_chengdu_shows_its_verified_phones(shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello(lang="en")
        await c.ask("Exit-entry office directory", "c1")
        reply = await c.ask("Chengdu", "c2")
        assert "028-86407067 / 028-86407364" in reply["text"]
        assert "No. 2 Renmin West Road" in reply["text"]


async def test_a_city_without_offices_gets_the_official_directory(shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello(lang="zh")
        await c.ask("出入境办证机构查询", "n1")
        reply = await c.ask("南京", "n2")
        assert reply["meta"]["kind"] == "office_none"
        assert "南京" in reply["text"] and UNVERIFIED_ZH in reply["text"]
        assert "区号+12367" in reply["text"]


async def test_cancel_leaves_the_form(shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello(lang="en")
        await c.ask("Exit-entry office directory", "x1")
        reply = await c.ask("cancel", "x2")
        assert reply["meta"]["kind"] == "notice" and "stopped" in reply["text"]
        # The form is gone: a question is answered from the knowledge corpus again.
        answer = await c.ask("How do I extend my visa in China?", "x3")
        assert answer["meta"]["kind"] == "answer"


async def test_cantonese_question_gets_traditional_reply(shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello()
        reply = await c.ask("上海出入境辦證大廳喺邊度？", "y1")
        assert reply["script"] in ("zh-Hant", "yue")
        assert "上海市公安局出入境管理局" in reply["text"] or "浦東新區民生路1500號" in reply["text"]
        assert "浦東新區民生路1500號" in reply["text"] and "浦东" not in reply["text"]
        assert all(q["value"] != "上海外国人永久居留服务中心" for q in reply["quick_replies"])


async def test_cantonese_in_simplified_characters_and_a_province(shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello()
        reply = await _offices_after(c, "上海出入境办证大厅喺边度？", "z1")
        assert reply["meta"]["kind"] == "office_list" and "1500" in reply["text"]
        province = await _offices_after(c, "广东省出入境办证机构在哪里", "z2")
        assert "深圳" in province["text"] or "深圳" in str(province["quick_replies"])
        assert "广州市各区公安分局（外国人签证居留受理）" in province["text"]


async def _offices_after(c, text: str, msg_id: str) -> dict:
    """The directory's reply to a typed question (a corpus answer may come before it)."""
    first = await c.ask(text, msg_id)
    if first["meta"]["kind"] != "answer":
        return first
    return await c.until(lambda f: f["type"] == "reply" and f["seq"] > first["seq"])
