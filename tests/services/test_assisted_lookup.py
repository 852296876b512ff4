"""Assisted look-ups over real websockets: a helper asks about a family member's application or
permit ("查询我母亲的签证进度", "check my son's residence permit"); the check is of the family
member's documents, the helper's own name is asked last, and the relationship and helper are
recorded with the inquiry (services/inquiries.py), on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from services.inquiries import Inquiries
from storage.backends import open_database


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, start_server):
    if request.param == "sqlite":
        server = start_server()
        return server, server.data_dir / "chat.sqlite3"
    url = request.getfixturevalue("postgres_url")
    return start_server(CHAT_DATABASE_URL=url), url


def inquiries(target) -> list:
    db = open_database(target)
    try:
        return [i for s in db.rows("SELECT DISTINCT session_id FROM service_inquiries")
                for i in Inquiries(db).of_session(s["session_id"])]
    finally:
        db.close()


async def test_chinese_helper_checks_a_mothers_application(backend, ws_client):
    server, target = backend
    async with ws_client(server.ws_url) as c:
        await c.hello(lang="zh")
        first = await c.ask("查询我母亲的签证进度", "a1")
        # A typed wish the corpus also answers may get the how-to first, then the form.
        ask = first if first["meta"]["kind"] == "lookup_form" else await c.until(
            lambda f: f["type"] == "reply" and f["meta"].get("kind") == "lookup_form")
        assert "需要核验的是母亲的身份" in ask["text"] and "您母亲的证件号码" in ask["text"]
        ask = await c.ask("A202603020017", "a2")
        assert "您母亲的护照号码" in ask["text"]
        ask = await c.ask("XA1234567", "a3")
        assert "您母亲的出生日期" in ask["text"]
        ask = await c.ask("1988-04-12", "a4")
        assert ask["meta"]["kind"] == "lookup_form" and "您本人的姓名" in ask["text"]
        ask = await c.ask("12345", "a5")  # not a name: asked again
        assert "请只输入您的姓名" in ask["text"]
        result = await c.ask("王小明", "a6")
        assert result["meta"]["kind"] == "lookup_result", result
        assert "王小明为母亲代为查询" in result["text"]
        assert result["meta"]["assisted"] == {"relationship": "mother", "helper_name": "王小明"}
    recorded = inquiries(target)
    assert len(recorded) == 1 and recorded[0].session
    assert recorded[0].outcome == "matched" and recorded[0].number_masked == "A20*******017"
    assert recorded[0].assisted is not None and recorded[0].assisted.helper_name == "王小明"


async def test_english_helper_checks_a_sons_permit_and_a_failure_is_recorded(start_server,
                                                                              ws_client):
    server = start_server()
    async with ws_client(server.ws_url) as c:
        await c.hello(lang="en")
        first = await c.ask("Can you check my son's residence permit?", "e1")
        # A typed question the corpus answers gets that answer first, then the form.
        ask = first if first["meta"]["kind"] == "lookup_form" else await c.until(
            lambda f: f["type"] == "reply" and f["meta"].get("kind") == "lookup_form")
        assert "the check is of your child's identity" in ask["text"]
        assert "What is your child's visa or residence permit number?" in ask["text"]
        ask = await c.ask("R202600081 XA1234567 1988-04-13", "e2")  # a wrong birth date
        assert "what is your own name?" in ask["text"]
        failed = await c.ask("my name is Anna Lee", "e3")
        assert failed["meta"]["kind"] == "lookup_failed"
    recorded = inquiries(server.data_dir / "chat.sqlite3")
    assert [(i.outcome, i.assisted.relationship if i.assisted else None) for i in recorded] == [
        ("not_matched", "child")]
    assert recorded[0].assisted is not None and recorded[0].assisted.helper_name == "Anna Lee"


async def test_ones_own_look_up_asks_no_helper(start_server, ws_client):
    server = start_server()
    async with ws_client(server.ws_url) as c:
        await c.hello(lang="en")
        await c.ask("check the progress of my application A202603020017", "o1")
        await c.ask("XA1234567", "o2")
        result = await c.ask("1988-04-12", "o3")
        assert result["meta"]["kind"] == "lookup_result" and "assisted" not in result["meta"]
    assert [i.assisted for i in inquiries(server.data_dir / "chat.sqlite3")] == [None]
