"""Booking an appointment inside the chat, over real websockets to a real server whose calendar
starts on Monday 21 September 2026 (ten days before National Day): a message that says service,
city and date is taken at once, only what is missing is asked, corrections, a question midway,
cancelling midway, resuming after a reconnect, a holiday refused, and cancel by reference."""

from __future__ import annotations

import json
import re

import pytest

from tests.handoff.helpers import AgentClient, add_agent
from tests.handoff.test_server_handoff import chat_id_in

TODAY = "2026-09-21"


@pytest.fixture(scope="module")
def booking_server(start_module_server):
    return start_module_server(CHAT_APPOINTMENTS_TODAY=TODAY)


def values(reply: dict) -> list[str]:
    return [q["value"] for q in reply["quick_replies"]]


async def test_book_in_english_with_a_correction_and_a_question_midway(booking_server, ws_client):
    async with ws_client(booking_server.ws_url) as c:
        await c.hello(lang="en")
        times = await c.ask("I need to extend my visa in Chengdu next Tuesday", "e1")
        # Service, city (one office) and date were in the message: the free slots are asked.
        assert times["meta"]["kind"] == "appointment_ask" and times["meta"]["field"] == "time"
        assert times["meta"]["date"] == "2026-09-29" and "Chengdu" in times["text"]
        assert "09:00" in values(times) and times["meta"]["slots"][0] == {"time": "09:00",
                                                                          "free": 4}
        offices = await c.ask("no, Shanghai", "e2")
        assert offices["meta"]["field"] == "office" and len(offices["meta"]["offices"]) == 2
        pick = await c.ask("Exit-Entry Administration Bureau, Shanghai PSB", "e3")
        assert pick["meta"]["field"] == "time" and "Shanghai" in pick["text"]
        # A question midway: its answer from the corpus, then the pending question again.
        answer = await c.ask("what documents do I need to extend my visa?", "e4")
        assert answer["meta"]["kind"] == "answer"
        again = await c.until(lambda f: f["type"] == "reply" and f["seq"] > answer["seq"])
        assert again["meta"]["field"] == "time"
        name = await c.ask("10:00", "e5")
        assert name["meta"]["field"] == "name"
        passport = await c.ask("Anna Lee", "e6")
        assert passport["meta"]["field"] == "passport"
        confirm = await c.ask("E12345678", "e7")
        assert confirm["meta"]["field"] == "confirm" and "E12****78" in confirm["text"]
        assert "E12345678" not in confirm["text"]
        booked = await c.ask("Confirm", "e8")
        assert booked["meta"]["kind"] == "appointment_booked"
        reference = booked["meta"]["reference"]
        assert re.fullmatch(r"AP[0-9A-Z]{8}", reference) and reference in booked["text"]
        assert booked["meta"]["booking"]["date"] == "2026-09-29"
        assert booked["meta"]["booking"]["time"] == "10:00"
        # Cancel by reference in the same chat: no second identity check.
        cancelled = await c.ask(f"cancel my appointment {reference}", "e9")
        assert cancelled["meta"]["kind"] == "appointment_cancelled"
        assert cancelled["meta"]["booking"]["status"] == "cancelled"


async def test_book_in_simplified_chinese_with_a_holiday_refused(booking_server, ws_client):
    async with ws_client(booking_server.ws_url) as c:
        await c.hello(lang="zh")
        times = await c.ask("我想预约下周二在成都办签证延期", "z1")
        assert times["meta"]["field"] == "time" and "9月29日" in times["text"]
        refused = await c.ask("改到下周四", "z2")  # 1 October
        assert refused["meta"]["field"] == "date" and "国庆节" in refused["text"]
        assert "2026-10-01" not in refused["meta"]["dates"]
        adjusted = await c.ask("10月10日", "z3")  # a Saturday made a working day
        assert adjusted["meta"]["field"] == "time" and "10月10日" in adjusted["text"]
        afternoon = await c.ask("改成下午", "z4")
        assert all(s["time"] >= "13:30" for s in afternoon["meta"]["slots"])
        await c.ask("14:00", "z5")
        await c.ask("王小明", "z6")
        confirm = await c.ask("G1234567", "z7")
        assert "确认" in values(confirm)
        booked = await c.ask("确认", "z8")
        assert booked["meta"]["kind"] == "appointment_booked" and "预约成功" in booked["text"]
        assert booked["script"] == "zh-Hans"


async def test_cantonese_resumes_after_a_reconnect(booking_server, ws_client):
    async with ws_client(booking_server.ws_url) as c:
        welcome = await c.hello()
        token = welcome["session"]
        times = await c.ask("我想約聽日去廣州辦居留許可", "y1")
        assert times["meta"]["field"] == "time" and times["meta"]["date"] == "2026-09-22"
        assert times["script"] == "zh-Hant" and "廣州" in times["text"] and "時段" in times["text"]
        name = await c.ask("09:30", "y2")
        assert name["meta"]["field"] == "name"
    async with ws_client(booking_server.ws_url) as c:
        await c.hello(session=token, last_seq=welcome["last_seq"])
        passport = await c.ask("陳大文", "y3")
        assert passport["meta"]["field"] == "passport"
        confirm = await c.ask("護照 K7654321", "y4")
        assert "陳大文" in confirm["text"] and "K76***21" in confirm["text"]
        booked = await c.ask("確認", "y5")
        assert booked["meta"]["kind"] == "appointment_booked" and "預約成功" in booked["text"]


async def test_menu_press_then_cancel_midway(booking_server, ws_client):
    async with ws_client(booking_server.ws_url) as c:
        await c.hello(lang="en")
        service = await c.ask("Online appointment", "m1")
        assert service["meta"]["field"] == "service" and "visa extension" in values(service)
        city = await c.ask("visa extension", "m2")
        assert city["meta"]["field"] == "city" and "Beijing" in values(city)
        office = await c.ask("Beijing", "m3")
        assert office["meta"]["field"] == "office" and len(office["meta"]["offices"]) == 4
        left = await c.ask("cancel", "m4")
        assert left["meta"]["kind"] == "appointment_left"
        after = await c.ask("how long can I stay with the 240-hour visa-free transit?", "m5")
        assert after["meta"]["kind"] == "answer"


async def test_cancel_by_reference_from_another_chat_needs_the_passport(booking_server,
                                                                        ws_client):
    async with ws_client(booking_server.ws_url) as c:
        await c.hello(lang="en")
        await c.ask("I want to book a residence permit appointment in Chengdu tomorrow", "r1")
        await c.ask("11:00", "r2")
        await c.ask("Lee Min", "r3")
        await c.ask("M1234567", "r4")
        reference = (await c.ask("yes", "r5"))["meta"]["reference"]
    async with ws_client(booking_server.ws_url) as c:
        await c.hello(lang="zh")
        ask = await c.ask(f"取消预约 {reference}", "x1")
        assert ask["meta"]["field"] == "passport"
        wrong = await c.ask("M0000000", "x2")
        assert wrong["meta"]["kind"] == "appointment_failed" and "没有找到" in wrong["text"]
        await c.ask(f"取消预约 {reference}", "x3")
        done = await c.ask("M1234567", "x4")
        assert done["meta"]["kind"] == "appointment_cancelled" and reference in done["text"]


async def test_booking_for_a_mother_then_rescheduling_it(booking_server, ws_client):
    async with ws_client(booking_server.ws_url) as c:
        await c.hello(lang="en")
        await c.ask("I want to book a visa renewal for my mother in Chengdu on Wednesday", "a1")
        await c.ask("09:00", "a2")
        await c.ask("Mary Smith", "a3")
        helper = await c.ask("P9876543", "a4")
        assert helper["meta"]["field"] == "helper" and "mother" in helper["text"]
        confirm = await c.ask("John Smith", "a5")
        assert "helper John Smith" in confirm["text"]
        booked = await c.ask("Confirm", "a6")
        booking = booked["meta"]["booking"]
        assert booking["relationship"] == "mother" and booking["helper_name"] == "John Smith"
        times = await c.ask(f"reschedule {booking['reference']} to next Wednesday", "a7")
        assert times["meta"]["field"] == "time" and times["meta"]["date"] == "2026-09-30"
        moved = await c.ask("15:00", "a8")
        assert moved["meta"]["kind"] == "appointment_rescheduled"
        assert (moved["meta"]["booking"]["date"], moved["meta"]["booking"]["time"]) == (
            "2026-09-30", "15:00")


def test_no_passport_number_reaches_the_server_log(booking_server):
    """After the bookings above (module order): the log never holds a passport number."""
    log = booking_server.log.read_text(encoding="utf-8", errors="replace")
    assert "serving" in log
    for number in ("E12345678", "G1234567", "K7654321", "M1234567", "P9876543"):
        assert number not in log


async def test_an_agent_sees_the_forms_passport_number_masked(booking_server, ws_client):
    """A passport number typed into the form, in whatever shape, reaches agents masked: in the
    transcript, the queue list's last message and the chat's summary."""
    add_agent(booking_server.data_dir, "lan", name="Lan", queues="*", langs="zh,en")
    agent = await AgentClient.open(booking_server.agent_ws_url)
    await agent.login("lan")
    async with ws_client(booking_server.ws_url) as c:
        await c.hello(lang="en")
        await c.ask("I need to extend my visa in Chengdu next Tuesday", "k1")
        await c.ask("10:00", "k2")
        passport = await c.ask("Kim Park", "k3")
        assert passport["meta"]["field"] == "passport"
        confirm = await c.ask("g1234ab", "k4")  # short: no identity-number pattern knows it
        assert confirm["meta"]["field"] == "confirm"
        await c.send({"type": "message", "id": "k5",
                      "text": "Talk to a person, my passport is G1234AB, born 1990-02-03"})
        await c.until(lambda f: f.get("type") == "reply" and f["meta"].get("kind") == "consent_ask")
        await c.send({"type": "message", "id": "k6", "text": "no"})  # the agent sees them masked
        await c.until(lambda f: f.get("type") == "state" and f.get("state") == "queued",
                      timeout=60)
        cid = await chat_id_in(agent)
        listed = next(i for q in agent.snapshot["queues"] for i in q["waiting"] if i["id"] == cid)
        await agent.send(type="claim", chat=cid)
        opened = await agent.expect("chat")
    seen = json.dumps([listed, opened], ensure_ascii=False).upper()
    assert "G1234AB" not in seen and "1990-02-03" not in seen
    assert listed["last_text"] == "no"  # the answer to "may the agent see your details?"
    assert "G1***AB" in listed["summary"] and "[date]" in listed["summary"]
    said = [e.get("text", "") for e in opened["transcript"] if e["type"] == "visitor"]
    assert "g1***ab" in said and "Kim Park" in said and "10:00" in said
    await agent.close()
