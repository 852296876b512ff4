"""Protocol v1 end to end: real websocket clients against a real server (a process; in-process
without the models where a test needs no answers)."""

import asyncio
import json

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from runtime.language import to_script
from runtime.language_id import detect_language


async def test_round_trip_greeting_message_ack_and_cited_reply(shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        welcome = await c.hello()
        assert welcome["state"] == "bot" and len(welcome["session"]) >= 43
        greeting = await c.until(lambda f: f["type"] == "reply")
        labels = [q["label"] for q in greeting["quick_replies"]]
        assert "English" in labels and "出入境证件" in labels and "网上预约" in labels
        reply = await c.ask("How do I extend my visa in China?", "m1")
        assert reply["from"] == "bot" and reply["lang"] == "en"
        assert reply["meta"]["kind"] in ("answer", "clarify")
        if reply["meta"]["kind"] == "answer":
            assert reply["sources"] and reply["sources"][0]["url"].startswith("http")
            # The same answer in parts (protocol.md, "Answers in parts"); `text` is the whole of it.
            assert reply["text"].startswith(reply["title"] + "\n\n" + reply["short"][:20])
            assert reply["details"] and reply["details"][-40:] in reply["text"]
        assert all(f["seq"] == i + 1 for i, f in enumerate(
            [f for f in c.seen if "seq" in f and f["type"] != "ack"]))


async def test_the_bot_shows_typing_only_while_an_answer_is_slow(shared_server, ws_client):
    """A quick answer comes without the typing dots (they would only flicker); a slow one shows
    them from 0.3 s until it comes, and never leaves them on."""
    loop = asyncio.get_running_loop()
    async with ws_client(shared_server.ws_url) as c:
        await c.hello(lang="en")
        await c.until(lambda f: f["type"] == "reply")
        for n, text in enumerate(["How do I extend my visa?", "240-hour transit ports?", "thanks"]):
            sent = loop.time()
            await c.send({"type": "message", "id": f"t{n}", "text": text})
            typing: list[bool] = []
            while (frame := await c.recv())["type"] != "reply" or frame["from"] != "bot":
                if frame["type"] == "typing":
                    typing.append(frame["from"] == "bot" and frame["on"])
            took = loop.time() - sent
            assert typing in ([], [True, False]), typing
            if took < 0.25:  # under the threshold, whatever the machine's load
                assert typing == [], f"typing shown for an answer in {took:.3f} s"


async def test_replay_after_reconnect_and_idempotent_resend(shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        token = (await c.hello())["session"]
        reply = await c.ask("签证过期了怎么办", "r1")
        seen_seq = reply["seq"]
    async with ws_client(shared_server.ws_url) as c:
        welcome = await c.hello(session=token, last_seq=1)
        assert welcome["last_seq"] >= seen_seq
        replayed = [await c.recv() for _ in range(welcome["last_seq"] - 1)]
        assert [f["seq"] for f in replayed] == list(range(2, welcome["last_seq"] + 1))
        assert any(f["type"] == "visitor" and f["text"] == "签证过期了怎么办" for f in replayed)
        # Resending an acked id: the same ack, no new event, no second answer.
        await c.send({"type": "message", "id": "r1", "text": "签证过期了怎么办"})
        ack = await c.until(lambda f: f["type"] == "ack")
        assert ack["seq"] == next(f["seq"] for f in replayed if f.get("id") == "r1")
        await c.send({"type": "ping"})
        assert (await c.recv())["type"] == "pong"
    async with ws_client(shared_server.ws_url) as c:
        welcome2 = await c.hello(session=welcome["session"], last_seq=welcome["last_seq"])
        assert welcome2["last_seq"] == welcome["last_seq"]


async def test_bad_input_gets_clear_errors_and_loses_nothing(shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.send({"type": "message", "id": "x", "text": "before hello"})
        assert (await c.recv())["code"] == "hello_required"
        token = (await c.hello())["session"]
        await c.until(lambda f: f["type"] == "reply")
        await c.send({"type": "message", "id": "keep", "text": "<script>alert(1)</script> 护照丢了"})
        kept = await c.until(lambda f: f["type"] == "visitor")
        assert kept["text"] == "<script>alert(1)</script> 护照丢了"
        cases = [
            ("{not json", "bad_json"), (b"\x01\x02", "binary_frame"),
            ({"type": "teleport"}, "unknown_type"),
            ({"type": "message", "id": "b", "text": "长" * 2001}, "too_long"),
            ({"type": "message", "id": "c", "text": ["list"]}, "bad_field"),
            ({"type": "message", "id": "d", "text": "\x00\x01\x02"}, "empty"),
            ({"type": "rating", "score": "five"}, "bad_field"),
        ]
        for frame, code in cases:
            await c.send(frame)
            err = await c.until(lambda f: f["type"] == "error")
            assert err["code"] == code and err["message"]
    async with ws_client(shared_server.ws_url) as c:
        welcome = await c.hello(session=token, last_seq=0)
        events = [await c.recv() for _ in range(welcome["last_seq"])]
        assert any(f.get("id") == "keep" for f in events)


async def test_unknown_session_starts_a_new_one(shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.send({"type": "hello", "session": "nope" * 10, "last_seq": 0})
        assert (await c.recv())["code"] == "unknown_session"
        assert (await c.until(lambda f: f["type"] == "welcome"))["state"] == "bot"


async def test_language_switch_keeps_history_and_locks(shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello()
        await c.until(lambda f: f["type"] == "reply")
        await c.send({"type": "lang", "lang": "en"})
        assert (await c.until(lambda f: f["type"] == "lang"))["locked"] is True
        confirm = await c.until(lambda f: f["type"] == "reply")
        assert confirm["lang"] == "en"
        reply = await c.ask("签证怎么延期", "l1")
        assert reply["lang"] == "en"


@pytest.mark.parametrize("start,switch,said", [
    ("zh", "en", "OK, I will answer in English from now on."),
    ("en", "zh", "好的，接下来我用中文回答。"),
])
async def test_the_same_language_choice_is_confirmed_once(shared_server, ws_client, start, switch, said):
    """A second press, or the widget re-sending this browser's choice after a reload, is
    acknowledged with the lang frame only: the confirmation is posted once."""
    async with ws_client(shared_server.ws_url) as c:
        welcome = await c.hello(page_lang=start)
        await c.until(lambda f: f["type"] == "reply")
        for _ in range(2):
            await c.send({"type": "lang", "lang": switch})
            await c.until(lambda f: f["type"] == "lang")
    async with ws_client(shared_server.ws_url) as again:  # a reload
        await again.hello(session=welcome["session"], last_seq=0, lang=switch)
        await again.send({"type": "lang", "lang": switch})
        await again.until(lambda f: f["type"] == "lang")
        await asyncio.sleep(0.5)  # a confirmation would follow the lang frame at once
        await again.send({"type": "ping"})
        await again.until(lambda f: f["type"] == "pong")
        events = {f["seq"]: f for f in again.seen if "seq" in f}
        assert [f["text"] for f in events.values() if f["type"] == "reply" and f["text"] == said] == [said]


async def test_traditional_and_cantonese_get_traditional_characters(shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello()
        await c.until(lambda f: f["type"] == "reply")
        reply = await c.ask("我本護照唔見咗，點算好？", "t1")
        assert reply["script"] in ("zh-Hant", "yue")
        assert "护照" not in reply["text"] and "证" not in reply["text"]
        parts = reply.get("title", "") + reply.get("short", "") + reply.get("details", "")
        assert "护照" not in parts and "证" not in parts


@pytest.mark.parametrize("page_script", ["yue", "zh-Hant"], ids=["hong-kong-page", "taiwan-page"])
async def test_a_traditional_question_keeps_the_pages_standard(shared_server, ws_client, page_script):
    """A Hong Kong page (page_script yue: Hong Kong characters) greets in Hong Kong characters and
    keeps them when its visitor writes standard Chinese in Traditional (not Cantonese); a Taiwan
    page (zh-Hant) keeps Taiwan's."""
    question = "簽證到期了怎麼延期？"
    assert detect_language(question).script == "zh-Hant"
    async with ws_client(shared_server.ws_url) as c:
        await c.hello(page_lang="zh", page_script=page_script)
        greeting = await c.until(lambda f: f["type"] == "reply")
        assert greeting["script"] == page_script
        reply = await c.ask(question, "hk1")
        assert reply["script"] == page_script, reply
        # Already in the page's standard: converting it to that standard changes nothing.
        assert to_script(reply["text"], page_script) == reply["text"], reply["text"]


async def test_continue_on_phone_transfers_the_conversation_once(shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as desk:
        await desk.hello()
        await desk.ask("怎么办理居留许可", "p1")
        await desk.send({"type": "transfer_request"})
        transfer = await desk.until(lambda f: f["type"] == "transfer")
        assert "/m?t=" in transfer["url"]
        status, svg, headers = shared_server.get(transfer["qr"])
        assert status == 200 and "<svg" in svg
        async with ws_client(shared_server.ws_url) as phone:
            welcome = await phone.hello(transfer=transfer["token"], channel="mobile")
            history = [await phone.recv() for _ in range(welcome["last_seq"])]
            assert any(f.get("id") == "p1" for f in history)
            assert (await desk.until(lambda f: f["type"] == "moved"))["channel"] == "mobile"
        async with ws_client(shared_server.ws_url) as other:
            await other.send({"type": "hello", "transfer": transfer["token"], "last_seq": 0})
            assert (await other.recv())["code"] == "bad_transfer"


async def test_http_pages_probes_and_metrics(shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello()
        await c.ask("how long can I stay visa free", "h1")
    assert shared_server.get("/healthz")[0] == 200
    import urllib.request
    with urllib.request.urlopen(f"{shared_server.url}/favicon.ico", timeout=10) as icon:
        assert icon.status == 200 and icon.headers["Content-Type"] == "image/x-icon"
        assert icon.read(4) == b"\x00\x00\x01\x00"  # an ICO file
    assert shared_server.get("/readyz")[0] == 200
    status, body, _ = shared_server.get("/metrics")
    assert status == 200
    for name in ("chat_connections", "chat_messages_total", "chat_stage_seconds_bucket",
                 "chat_handoffs_total", 'stage="nlu"', 'stage="retrieval"', 'stage="total"'):
        assert name in body
    status, svg, headers = shared_server.get("/qr.svg")
    assert status == 200 and headers["Content-Type"].startswith("image/svg+xml")
    assert shared_server.get("/static/../../bot/settings.py")[0] == 404


async def test_disallowed_origin_is_refused(shared_server):
    with pytest.raises(InvalidStatus) as err:
        async with connect(shared_server.ws_url, origin="https://evil.example"):
            pass
    assert err.value.response.status_code == 403


async def test_oversize_frame_closes_with_1009(shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello()
        await c.send(json.dumps({"type": "message", "id": "big", "text": "x" * 70000}))
        with pytest.raises(ConnectionClosed) as err:
            while True:
                await c.recv()
        assert err.value.rcvd.code == 1009


async def test_floods_are_rate_limited_with_retry_after(start_server, ws_client):
    server = start_server(in_process=True, CHAT_CONN_RATE="1", CHAT_CONN_BURST="3",
                          CHAT_MAX_CONNS_PER_IP="2")
    async with ws_client(server.ws_url) as c:
        await c.hello()
        for _ in range(6):
            await c.send({"type": "ping"})
        answers = [await c.until(lambda f: f["type"] in ("pong", "error")) for _ in range(6)]
        errors = [f for f in answers if f["type"] == "error"]
        # The burst of 3 covers hello and two pings; the rest are refused, with retry_after.
        assert [f["type"] for f in answers] == ["pong"] * 2 + ["error"] * 4
        assert all(f["code"] == "rate_limited" and f["retry_after"] > 0 for f in errors)
        await asyncio.sleep(max(f["retry_after"] for f in errors) + 0.1)
        await c.send({"type": "ping"})
        assert (await c.until(lambda f: f["type"] in ("pong", "error")))["type"] == "pong"
        async with ws_client(server.ws_url):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(server.ws_url):
                    pass
            assert refused.value.response.status_code == 429


async def test_per_ip_cap_counts_the_client_behind_a_trusted_proxy(start_server):
    """Behind our reverse proxy every visitor arrives from the proxy's address: the cap must
    count X-Forwarded-For clients, and a forged header from an untrusted peer changes nothing."""
    server = start_server(in_process=True, CHAT_MAX_CONNS_PER_IP="1",
                          CHAT_TRUSTED_PROXIES='["127.0.0.1"]')

    def via(client: str):
        return connect(server.ws_url, additional_headers={"X-Forwarded-For": f"6.6.6.6, {client}"})

    async with via("203.0.113.7"), via("198.51.100.9"):  # two visitors, one proxy: both admitted
        with pytest.raises(InvalidStatus) as refused:
            async with via("203.0.113.7"):  # the same visitor twice: over its cap of 1
                pass
        assert refused.value.response.status_code == 429
    untrusted = start_server(in_process=True, CHAT_MAX_CONNS_PER_IP="1")
    async with connect(untrusted.ws_url, additional_headers={"X-Forwarded-For": "1.1.1.1"}):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(untrusted.ws_url, additional_headers={"X-Forwarded-For": "2.2.2.2"}):
                pass
        assert refused.value.response.status_code == 429


async def test_sigkill_and_restart_loses_no_acked_message(server, ws_client):
    async with ws_client(server.ws_url) as c:
        token = (await c.hello())["session"]
        acked = []
        for i in range(5):
            await c.send({"type": "message", "id": f"k{i}", "text": f"第{i}个问题：签证延期"})
            acked.append((await c.until(lambda f: f["type"] == "ack"))["id"])
    workers = psutil.Process(server.proc.pid).children()
    assert workers, "the models run in worker processes"
    server.kill()
    # Workers of a killed server exit by themselves instead of holding their memory forever.
    gone, alive = psutil.wait_procs(workers, timeout=15)
    assert not alive, [p.pid for p in alive]
    server.start()
    async with ws_client(server.ws_url) as c:
        welcome = await c.hello(session=token, last_seq=0)
        assert welcome["session"] != token  # a new token each resume: a copy stops working
        history = [await c.recv() for _ in range(welcome["last_seq"])]
        assert [f["id"] for f in history if f["type"] == "visitor"] == acked
        # The conversation goes on.
        reply = await c.ask("谢谢", "after")
        assert reply["from"] == "bot"


async def test_sigterm_tells_clients_to_reconnect(server, ws_client):
    async with ws_client(server.ws_url) as c:
        await c.hello()
        server.proc.terminate()
        with pytest.raises(ConnectionClosed) as err:
            while True:
                await c.recv()
        assert err.value.rcvd.code == 1012
    assert server.proc.wait(20) == 0


@pytest.fixture(scope="module")
def fuzz_server(start_module_server):
    """Flood limits raised, so fuzzing tests the parser, not the rate limiter."""
    return start_module_server(CHAT_IP_RATE="1000", CHAT_IP_BURST="1000", CHAT_CONN_BURST="100")


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(frames=st.lists(
    st.one_of(
        st.text(max_size=300),
        st.binary(max_size=100),
        st.fixed_dictionaries({"type": st.sampled_from(
            ["hello", "message", "lang", "rating", "feedback", "close", "ping", "typing",
             "transfer_request", "nope"])},
            optional={"id": st.text(max_size=70), "text": st.text(max_size=50),
                      "lang": st.sampled_from(["zh", "en", "xx", None]),
                      "score": st.integers(-3, 9), "seq": st.integers(-5, 50),
                      "session": st.text(max_size=20), "last_seq": st.integers(-2, 5)}
        ).map(json.dumps),
    ), max_size=8))
def test_fuzzed_frames_never_break_the_server(fuzz_server, frames):
    async def run():
        async with connect(fuzz_server.ws_url) as ws:
            for frame in frames:
                await ws.send(frame)
            await ws.send(json.dumps({"type": "ping"}))
            while True:
                reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if reply["type"] == "pong":
                    return
    asyncio.run(run())


async def test_follow_ups_stay_on_the_topic_without_repeating_the_answer(shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello(page_lang="en")
        await c.until(lambda f: f["type"] == "reply")
        first = await c.ask("How do I extend my visa?", "f1")
        fee = await c.ask("how much does it cost?", "f2")
        assert fee["meta"]["kind"] == "answer", fee
        assert fee["meta"]["entry"] != first["meta"]["entry"] and "160" in fee["text"]
        zh = await c.ask("签证怎么延期？", "f3")
        zh_fee = await c.ask("那要多少钱？", "f4")
        assert zh["script"] == "zh-Hans" and zh_fee["meta"]["entry"] == fee["meta"]["entry"]


async def test_a_follow_up_too_short_to_search_alone_is_answered_on_the_topic(
        shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello(page_lang="en")
        await c.until(lambda f: f["type"] == "reply")
        topic = await c.ask("Can I use the 12367 line in Russian?", "w1")
        since = await c.ask("since when?", "w2")  # alone: no entry covers it; declined before
        assert since["meta"]["kind"] == "answer", since
        assert since["meta"]["entry"] == topic["meta"]["entry"]


async def test_a_follow_up_written_alike_in_both_scripts_is_answered_in_the_chats_script(
        shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello(page_lang="zh")
        await c.until(lambda f: f["type"] == "reply")
        first = await c.ask("港澳台居民居住證要在大陸住多久才能申請？", "s1")
        assert first["script"] == "zh-Hant", first
        validity = await c.ask("有效期呢？", "s2")  # no character of one script only
        assert validity["meta"]["kind"] == "answer" and validity["script"] == "zh-Hant", validity
        assert "5年" in validity["text"] and "证" not in validity["text"], validity
        thanks = await c.ask("好，多謝晒", "s3")  # as many Traditional as Simplified-looking
        assert thanks["script"] in ("zh-Hant", "yue") and "还" not in thanks["text"], thanks


async def test_a_follow_up_asking_something_new_gets_the_next_fact_not_the_answer_again(
        shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello(page_lang="zh")
        await c.until(lambda f: f["type"] == "reply")
        route = await c.ask("我老公是日本人，我们结婚五年多了，一直住在杭州，他能申请永久居留吗？", "x1")
        assert route["meta"]["kind"] == "answer", route
        wait = await c.ask("审批一般要等多久？", "x2")
        assert wait["meta"]["kind"] == "answer" and wait["meta"]["entry"] != route["meta"]["entry"]
        assert "6个月" in wait["text"], wait
        # Offered under it, in case the visitor did mean the route again.
        assert route["title"] in [q["label"] for q in wait["quick_replies"]], wait


async def test_a_short_question_narrows_the_topic_and_the_next_follow_up_keeps_both(
        shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello(page_lang="zh")
        await c.until(lambda f: f["type"] == "reply")
        await c.ask("我丈夫是外国人，想申请永久居留，结婚要满多少年？", "t1")
        await c.ask("每年要住多久？", "t2")  # names no matter: still permanent residence
        fee = await c.ask("费用呢？", "t3")  # the residence's fee, not a visa extension's
        assert fee["meta"]["kind"] == "answer" and "1500" in fee["text"], fee


async def test_a_question_that_names_a_language_is_answered_and_a_command_locks(
        shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello(page_lang="zh")
        await c.until(lambda f: f["type"] == "reply")
        reply = await c.ask("Is the 12367 hotline available in Russian?", "l1")
        assert reply["meta"]["kind"] == "answer" and reply["lang"] == "en"
        await c.send({"type": "message", "id": "l2", "text": "请用中文回答"})
        switched = await c.until(lambda f: f["type"] == "lang")
        assert switched == {"type": "lang", "lang": "zh", "locked": True}
        locked = await c.ask("How long can I stay on the 240-hour visa-free transit?", "l3")
        assert locked["lang"] == "zh" and "240" in locked["text"]


async def test_a_question_with_a_number_in_it_is_answered_in_its_own_script(
        shared_server, ws_client):
    """A message that is only a number keeps the conversation's language; one with words
    around a number ("12367", "240") is in the language of those words."""
    async with ws_client(shared_server.ws_url) as c:
        await c.hello(page_lang="en")
        await c.until(lambda f: f["type"] == "reply")
        simplified = await c.ask("12367半夜打有人接吗", "n1")
        assert simplified["lang"] == "zh" and "12367" in simplified["text"], simplified
        traditional = await c.ask("請問12367的服務時間是幾點到幾點？", "n2")
        assert traditional["lang"] == "zh" and "時間" in traditional["text"], traditional


async def test_another_countrys_visa_is_pointed_to_its_embassy_and_ours_is_answered(
        shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello(page_lang="zh")
        await c.until(lambda f: f["type"] == "reply")
        abroad = await c.ask("我下個月去韓國旅行，香港護照使唔使簽證？", "f1")
        assert abroad["meta"]["kind"] == "decline" and "使領館" in abroad["text"], abroad
        ours = await c.ask("韓國人嚟中國旅遊使唔使簽證？", "f2")
        assert ours["meta"]["kind"] == "answer", ours


async def test_a_follow_up_about_the_price_gets_the_topics_fee(shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello(page_lang="zh")
        await c.until(lambda f: f["type"] == "reply")
        topic = await c.ask("外国人跟中国人结婚，申请永久居留要结婚几年？", "p1")
        assert topic["meta"]["kind"] == "answer", topic
        fee = await c.ask("费用呢？", "p2")
        assert fee["meta"]["entry"] == "pr-application-fees", fee


async def test_a_follow_up_the_classifier_reads_as_a_request_is_answered_on_its_topic(
        shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello(page_lang="en")
        await c.until(lambda f: f["type"] == "reply")
        await c.ask("What's the address of the Shanghai exit-entry bureau?", "n1")
        phone = await c.ask("and the phone number?", "n2")  # no person named: not a handoff
        assert phone["meta"]["kind"] == "answer", phone


async def test_an_errands_paper_asked_after_an_immigration_answer_is_answered_on_its_topic(
        shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello(page_lang="en")
        await c.until(lambda f: f["type"] == "reply")
        transit = await c.ask("I'm flying London to Beijing to Seoul, can I use the 240-hour "
                              "visa-free transit?", "e1")
        assert transit["meta"]["kind"] == "answer", transit
        ticket = await c.ask("do I need a return air ticket?", "e2")
        assert ticket["meta"]["kind"] == "answer" and ticket["lang"] == "en", ticket
        errand = await c.ask("also, where can I open a bank account?", "e3")
        assert errand["meta"]["kind"] == "decline", errand
    async with ws_client(shared_server.ws_url) as fresh:  # the same words opening a chat
        await fresh.hello(page_lang="en")
        await fresh.until(lambda f: f["type"] == "reply")
        alone = await fresh.ask("do I need a return air ticket?", "e4")
        assert alone["meta"]["kind"] == "decline", alone


async def test_code_mixed_errands_are_declined_and_code_mixed_immigration_questions_answered(
        shared_server, ws_client):
    async with ws_client(shared_server.ws_url) as c:
        await c.hello(page_lang="zh")
        await c.until(lambda f: f["type"] == "reply")
        for n, text in enumerate(("帮我 book 一个 hotel room in 上海，下周三 check in",
                                  "where can I 买 SIM卡 near 浦东机场?", "邊度可以 exchange 啲 USD 做 RMB 呀？")):
            reply = await c.ask(text, f"m{n}")
            assert reply["meta"]["kind"] == "decline", reply  # no booking form, no entry
        fee = await c.ask("Extension fee 係幾多錢？", "m9")
        assert fee["meta"]["kind"] == "answer" and "160" in fee["text"], fee
        assert fee["script"] in ("zh-Hant", "yue") and "费" not in fee["text"], fee  # Traditional
