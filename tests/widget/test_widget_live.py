"""The widget against the real server (tests/conftest.py's fixtures) in Debian chromium: cited answers
in Chinese and English, language switch, restart and reload without losing anything, continue on the
phone, the human queue and rating, axe-core on live pages, and the screenshots in docs/screenshots/."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect
from websockets.sync.client import connect

from widget_pages import Chat, axe_violations, small_touch_targets

HAN = re.compile(r"[\u4e00-\u9fff]")
AGENT_PASSWORD = "widget test agent password"


def assert_cited(reply: dict) -> None:
    assert reply["from"] == "bot", reply
    assert reply["links"], f"answer without citations: {reply}"
    for link in reply["links"]:
        assert urlsplit(link["href"]).scheme in ("http", "https")
        assert link["target"] == "_blank" and "noopener" in link["rel"]


def assert_no_duplicates(chat: Chat) -> list[dict]:
    events = chat.transcript()
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs)), seqs  # every stored event once, in order
    return events


def open_portal(page: Page, url: str) -> Chat:
    page.goto(url)
    chat = Chat(page).open()
    chat.wait_online()
    expect(page.locator("nia-chat .log > li.m-bot").first).to_be_visible()  # the greeting
    return chat


def test_cited_answers_in_chinese_and_english_with_language_switch(
        live_server, context, browser, screenshots, axe_source):
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.wait_for_function("() => document.querySelector('footer img').naturalWidth > 0")  # /qr.svg
    page.screenshot(path=screenshots / "portal.png", full_page=True)
    chat = open_portal(page, live_server.url + "/")
    expect(page.locator("nia-chat .qr button").first).to_be_visible()  # the menu

    zh = chat.ask_for_answer("签证快过期了，怎么办理延期？")
    assert_cited(zh)
    assert HAN.search(zh["text"])
    # A quick answer shows no typing dots (bot/bot_turn.py); none are left on after it either.
    expect(page.locator("nia-chat .typing")).to_be_hidden()
    live = page.locator("nia-chat [role=status][aria-live=polite]")
    expect(live).to_contain_text(zh["text"][:12])  # screen readers hear the answer
    expect(live).to_contain_text("12367 智能助手")
    assert page.locator("nia-chat .log > li.m-bot .who").first.text_content() == "12367 智能助手"
    page.locator("nia-chat .log > li.m-bot .fb button").last.wait_for()
    page.wait_for_timeout(300)  # the panel scrolls to the start of the answer
    page.screenshot(path=screenshots / "panel-zh.png")
    thumbs_up = page.locator("nia-chat .log > li.m-bot .fb button[aria-label=有帮助]").last
    thumbs_up.click()
    expect(thumbs_up).to_have_attribute("aria-pressed", "true")
    assert axe_violations(page, axe_source) == []

    before = assert_no_duplicates(chat)
    page.locator("nia-chat .tools button", has_text="English").click()
    expect(chat.input).to_have_attribute("placeholder", "Type your question")
    expect(page.locator("nia-chat .tools button").first).to_have_text("中文")
    en = chat.ask_for_answer("How do I extend my visa?")
    assert_cited(en)
    assert not HAN.search(en["text"]), en["text"]
    after = assert_no_duplicates(chat)
    assert after[: len(before)] == before  # the history survived the switch
    assert chat.visitor_texts() == ["签证快过期了，怎么办理延期？", "How do I extend my visa?"]

    with page.expect_download() as download:
        page.locator("nia-chat .tools button", has_text="Save").click()
    text = open(download.value.path(), encoding="utf-8").read()
    assert "签证快过期了，怎么办理延期？" in text and "How do I extend my visa?" in text
    assert download.value.suggested_filename.endswith(".txt")

    # An English visitor from the start, for the English screenshot.
    en_context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    try:
        en_page = en_context.new_page()
        en_chat = open_portal(en_page, live_server.url + "/?lang=en")
        assert_cited(en_chat.ask_for_answer("What is the 240-hour visa-free transit policy?"))
        en_page.screenshot(path=screenshots / "panel-en.png")
        assert axe_violations(en_page, axe_source) == []
    finally:
        en_context.close()


def reply_script(text: str) -> str:
    """en, zh-Hans or zh-Hant: what a reader of the reply sees."""
    import opencc
    han = len(HAN.findall(text))
    if han < 2 * len(re.findall(r"[A-Za-z]{2,}", text)):
        return "en"
    return "zh-Hant" if opencc.OpenCC("t2s").convert(text) != text else "zh-Hans"


@pytest.mark.parametrize("page_lang", ["zh", "en"])
def test_the_bot_answers_in_the_visitors_language_and_the_labels_change_language_only_by_choice(
        live_server, context, page_lang):
    page = context.new_page()
    chat = open_portal(page, live_server.url + f"/?lang={page_lang}")
    placeholder = chat.input.get_attribute("placeholder")
    other = ("How long can I stay on the 240-hour visa-free transit?", "en") if page_lang == "zh" \
        else ("签证快过期了，怎么办理延期？", "zh-Hans")
    for text, script in (other, ("我的簽證快到期了，要怎麼辦理延期？", "zh-Hant"),
                         ("我個簽證就快到期，點樣續簽呀？", "zh-Hant")):
        reply = chat.ask_for_answer(text)
        assert reply["from"] == "bot" and reply_script(reply["text"]) == script, (text, reply)
    # Answers followed the visitor; the panel's own labels stayed in the page's language, in the
    # script of the last (Cantonese, so Traditional) answer.
    expect(chat.input).to_have_attribute(
        "placeholder", "請輸入您的問題" if page_lang == "zh" else placeholder)
    command = "English please" if page_lang == "zh" else "请用中文"
    chat.type_and_send(command)
    wanted = "Type your question" if page_lang == "zh" else placeholder
    if page_lang == "zh":
        expect(chat.input).to_have_attribute("placeholder", wanted)  # a typed choice relabels
        expect(page.locator("nia-chat .tools button").first).to_have_text("中文")
    else:
        expect(chat.input).not_to_have_attribute("placeholder", placeholder)
        expect(page.locator("nia-chat .tools button").first).to_have_text("English")
    # The choice locks the language: a question in the other language is answered in it.
    question = "签证怎么延期？" if page_lang == "zh" else "How do I extend my visa?"
    locked = chat.ask_for_answer(question)
    assert reply_script(locked["text"]) == ("en" if page_lang == "zh" else "zh-Hans"), locked


def test_quick_reply_sends_its_value(live_server, context):
    page = context.new_page()
    chat = open_portal(page, live_server.url + "/")
    button = page.locator("nia-chat .qr button").nth(2)
    label = button.text_content()
    button.click()
    reply = chat.reply_after(label)
    assert reply["from"] in ("bot", "system")
    expect(page.locator("nia-chat .log > li.m-visitor .bubble").last).to_have_text(label)

    end = page.locator("nia-chat .tools .end")  # ending takes two presses
    end.click()
    expect(end).to_have_text("确认结束？")
    end.click()
    expect(chat.log).to_contain_text("本次咨询已结束")  # said once, by the server's message
    expect(chat.banner).to_be_hidden()
    expect(page.locator("nia-chat .rating .stars button")).to_have_count(5)
    expect(page.locator("nia-chat .endactions button")).to_have_text("开始新的咨询")


def test_continue_on_the_phone(live_server, context, phone_context, screenshots, axe_source):
    desk = context.new_page()
    chat = open_portal(desk, live_server.url + "/")
    assert_cited(chat.ask_for_answer("我想咨询口岸签证"))
    desk.locator("nia-chat .tools button", has_text="手机").click()
    qr = desk.locator("nia-chat .transfer img")
    expect(qr).to_have_attribute("src", re.compile(r"/qr\.svg\?t="))
    desk.wait_for_function(
        "() => document.querySelector('nia-chat').shadowRoot.querySelector('.transfer img').naturalWidth > 0")
    link = desk.locator("nia-chat .transfer a").get_attribute("href")
    assert re.search(r"/m\?t=", link)

    phone = phone_context.new_page()
    phone.goto(link)  # what scanning the QR opens
    phone_chat = Chat(phone)
    expect(phone_chat.panel).to_be_visible()
    phone_chat.wait_online()
    expect(phone.locator("nia-chat .log > li.m-visitor .bubble").first).to_have_text("我想咨询口岸签证")
    assert "t=" not in phone.url  # the single-use token is not kept in the address bar
    expect(desk.locator("nia-chat .panel")).to_have_attribute("data-status", "moved")
    expect(desk.locator("nia-chat .log")).to_contain_text("本次咨询已转到您的手机上继续")

    assert_cited(phone_chat.ask_for_answer("哪些口岸可以办理口岸签证？"))
    assert small_touch_targets(phone) == []  # answers, sources, thumbs, quick replies: ≥ 44 px
    phone.screenshot(path=screenshots / "mobile.png")
    assert axe_violations(phone, axe_source) == []


def add_agent(data_dir, username: str, name: str) -> None:
    """An agent account, made the way an operator makes one (python -m handoff agents add)."""
    done = subprocess.run(
        [sys.executable, "-m", "handoff", "agents", "add", "--username", username, "--name", name,
         "--role", "agent", "--queues", "*", "--langs", "zh,en", "--max-chats", "3",
         "--password-stdin", "--data-dir", str(data_dir)],
        input=AGENT_PASSWORD + "\n", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 or "already exists" in done.stderr, done.stderr


def agent_frame(ws, type_: str, pred=lambda f: True, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        assert frame.get("type") != "error", frame
        if frame.get("type") == type_ and pred(frame):
            return frame


def test_human_agent_queue_typing_messages_resolve_and_rating(live_server, context):
    if not hasattr(live_server, "data_dir"):
        pytest.skip("WIDGET_SERVER_URL: no data dir to add an agent to")
    add_agent(live_server.data_dir, "wang", "王明")
    page = context.new_page()
    chat = open_portal(page, live_server.url + "/")
    chat.ask("我要转人工客服")
    for _ in range(3):  # the dialogue asks for the business option, then the region
        if chat.banner.is_visible():
            break
        picker = page.locator("nia-chat .qr select").last
        if picker.count() and picker.is_visible():
            picker.select_option(label="北京市")
            page.locator("nia-chat .qr .go").last.click()
        else:
            page.locator("nia-chat .qr button", has_text="出入境证件").last.click()
        page.wait_for_timeout(1000)
    expect(chat.banner).to_contain_text(re.compile(r"您排在第 \d+ 位"))  # queue position

    with connect(live_server.url.replace("http", "ws") + "/agent/ws", open_timeout=10) as ws:
        ws.send(json.dumps({"type": "login", "username": "wang", "password": AGENT_PASSWORD}))
        agent_frame(ws, "auth_ok")
        snapshot = agent_frame(ws, "queues", lambda f: any(q["waiting"] for q in f["queues"]))
        waiting = [c for q in snapshot["queues"] for c in q["waiting"]]
        chat_id = max(waiting, key=lambda c: c["waiting_since"])["id"]  # ours: the newest
        ws.send(json.dumps({"type": "claim", "chat": chat_id}))
        agent_frame(ws, "chat")
        expect(chat.banner).to_contain_text("人工客服（王明）已接入")
        ws.send(json.dumps({"type": "typing", "chat": chat_id, "on": True}))
        expect(page.locator("nia-chat .typing")).to_contain_text("人工客服正在输入")
        ws.send(json.dumps({"type": "send", "chat": chat_id, "text": "您好，我是王明。<b>请讲</b>"}))
        agent_msg = page.locator("nia-chat .log > li.m-agent").last
        expect(agent_msg.locator(".bubble")).to_have_text("您好，我是王明。<b>请讲</b>")  # as text
        expect(agent_msg.locator(".who")).to_have_text("人工客服 王明")
        expect(page.locator("nia-chat .typing")).to_be_hidden()
        assert agent_msg.locator(".fb").count() == 0  # thumbs are for the bot's answers only
        chat.type_and_send("谢谢，我的签证快到期了")
        agent_frame(ws, "event", lambda f: f["event"].get("text") == "谢谢，我的签证快到期了")
        ws.send(json.dumps({"type": "typing", "chat": chat_id, "on": True}))
        expect(page.locator("nia-chat .typing")).to_be_visible()
        ws.send(json.dumps({"type": "resolve", "chat": chat_id}))
        expect(chat.log).to_contain_text("本次人工服务已结束")
        expect(chat.banner).to_be_hidden()
        expect(page.locator("nia-chat .typing")).to_be_hidden()

    stars = page.locator("nia-chat .rating .stars button")  # resolved: the rating appears
    expect(stars).to_have_count(5)
    stars.nth(3).press("Enter")  # keyboard works for the stars
    expect(stars.nth(3)).to_have_attribute("aria-pressed", "true")
    expect(stars.nth(4)).to_have_attribute("aria-pressed", "false")
    page.locator("nia-chat .rating textarea").fill("很快，谢谢")
    page.locator("nia-chat .rating .btn").click()
    expect(page.locator("nia-chat .rating")).to_have_count(0)
    expect(page.locator("nia-chat .log")).to_contain_text("感谢您的评价")
    assert chat.stored()["rated"] is True


def test_restart_mid_chat_and_reload_lose_nothing(live_server, context):
    """Runs last: it SIGKILLs and restarts the module's server instead of starting another one."""
    server = live_server
    if not hasattr(server, "kill"):
        pytest.skip("WIDGET_SERVER_URL: a server this test cannot restart")
    page = context.new_page()
    chat = open_portal(page, server.url + "/")
    assert_cited(chat.ask_for_answer("护照丢了怎么办？"))

    server.kill()  # SIGKILL: the socket just drops, nothing is flushed
    expect(chat.status).to_contain_text("重试", timeout=15_000)
    chat.type_and_send("外国人来华工作需要办什么签证？")  # typed while the server is down
    pending = page.locator("nia-chat .log > li.m-visitor").last
    expect(pending).to_have_attribute("data-status", "waiting")
    server.start()
    chat.wait_online(timeout=60_000)
    assert chat.reply_after("外国人来华工作需要办什么签证？")["from"] in ("bot", "system")
    chat.ask("永久居留身份证怎么申请？")
    events = assert_no_duplicates(chat)
    sent = chat.visitor_texts()
    for question in ["护照丢了怎么办？", "外国人来华工作需要办什么签证？", "永久居留身份证怎么申请？"]:
        assert sent.count(question) == 1, sent  # nothing lost, nothing doubled

    page.reload()  # the conversation survives a reload: resume token + stored events
    chat = Chat(page)
    expect(chat.panel).to_be_visible()
    chat.wait_online()
    page.wait_for_timeout(500)  # let any replay arrive
    assert chat.visitor_texts() == sent
    reloaded = assert_no_duplicates(chat)
    assert [e["seq"] for e in reloaded][: len(events)] == [e["seq"] for e in events]

    # Storage with only the resume token (events lost): hello with last_seq 0 replays it all.
    session = chat.stored()["session"]
    page.close()
    fresh = context.new_page()
    fresh.goto(server.url + "/")
    fresh.evaluate("([key, s]) => localStorage.setItem(key, JSON.stringify({session: s}))",
                   [f"nia-chat:v1:{server.ws_url}", session])
    fresh.reload()
    fresh_chat = Chat(fresh).open()
    fresh_chat.wait_online()
    expect(fresh.locator("nia-chat .log > li.m-visitor")).to_have_count(len(sent))
    assert fresh_chat.visitor_texts() == sent
    assert_no_duplicates(fresh_chat)


LABELS = {"zh": ("详细说明", "来源（"), "en": ("Details", "Sources (")}


@pytest.mark.parametrize("lang, question, shot", [
    ("zh", "签证快过期了，怎么办理延期？", "answer-zh"),
    ("en", "How do I extend my visa?", "answer-en"),
    ("en", "Who can apply for a K visa?", None),  # the corpus's longest short answer
])
def test_an_answer_fits_a_phone_short_answer_first_details_and_sources_on_tap(
        live_server, phone_context, screenshots, axe_source, lang, question, shot):
    """On 360×640 the title, the short answer (at most two sentences) and the first source are on
    screen at once; details and the other sources open on a tap or from the keyboard."""
    from retrieval.answers import lead_sentences

    details_label, sources_label = LABELS[lang]
    phone = phone_context.new_page()
    phone.goto(live_server.url + f"/m?lang={lang}")
    chat = Chat(phone)
    chat.wait_online()
    reply = chat.ask_for_answer(question)
    assert_cited(reply)
    assert reply["parts"], reply
    short = re.sub(r"（截至.*）$| \(as of .*\)$", "", reply["text"])
    assert lead_sentences(short, lang)[1] == "", reply["text"]  # at most two sentences
    answer = phone.locator(f"nia-chat .log > li[data-seq='{reply['seq']}'] .bubble")
    expect(answer.locator("h3.ttl")).to_be_visible()
    expect(answer.locator(".short")).to_be_visible()
    details, toggle = answer.locator(".det"), answer.locator(".lead + .tog")
    expect(toggle).to_have_text(details_label)
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(details).to_be_hidden()
    assert toggle.get_attribute("aria-controls") == details.get_attribute("id")
    sources = answer.locator(".src .tog")
    expect(sources).to_have_text(re.compile(re.escape(sources_label) + r"\d+[）)]"))
    expect(answer.locator(".src li").first).to_be_visible()
    phone.wait_for_timeout(300)  # the panel scrolls to the start of the answer

    # The short answer and its first source fit on the one screen, inside the visible log.
    box = phone.evaluate("""(seq) => {
        const root = document.querySelector('nia-chat').shadowRoot;
        const log = root.querySelector('.log').getBoundingClientRect();
        const li = root.querySelector(`.log > li[data-seq="${seq}"]`);
        const r = (sel) => li.querySelector(sel).getBoundingClientRect();
        return {log: [log.top, log.bottom], title: r('.ttl').top, short: r('.short').bottom,
                source: r('.src li').bottom, height: innerHeight};
    }""", reply["seq"])
    assert box["height"] == 640
    assert box["log"][0] <= box["title"] and box["source"] <= box["log"][1] <= 640, box
    if shot:
        phone.screenshot(path=screenshots / f"{shot}.png")
    assert small_touch_targets(phone) == []
    assert axe_violations(phone, axe_source) == []

    toggle.tap()  # details open on a tap, as real elements
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(details).to_be_visible()
    assert details.locator("p > strong.k").count() >= 2  # "Where:" / "在哪里办：", "Rules:" labels
    sources.focus()  # the sources from the keyboard
    phone.keyboard.press("Enter")
    expect(sources).to_have_attribute("aria-expanded", "true")
    links = answer.locator(".src li")
    for i in range(links.count()):
        expect(links.nth(i)).to_be_visible()
    toggle.evaluate("(b) => { const log = b.closest('.log'); "
                    "log.scrollTop += b.getBoundingClientRect().top - log.getBoundingClientRect().top - 8; }")
    if shot:
        phone.screenshot(path=screenshots / f"{shot}-open.png")
    assert axe_violations(phone, axe_source) == []
    toggle.focus()
    phone.keyboard.press("Space")  # and close again
    expect(details).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")


@pytest.mark.parametrize("page_lang,button,said", [
    ("zh", "English", "OK, I will answer in English from now on."),
    ("en", "中文", "好的，接下来我用中文回答。"),
])
def test_the_language_button_confirms_once_and_not_again_after_a_reload(
        live_server, context, page_lang, button, said):
    page = context.new_page()
    chat = open_portal(page, live_server.url + f"/?lang={page_lang}")
    confirmations = page.locator("nia-chat .log > li.m-bot .bubble", has_text=said)
    page.locator("nia-chat .tools button", has_text=button).click()
    expect(confirmations).to_have_count(1)
    page.wait_for_timeout(1000)  # nothing more arrives
    expect(confirmations).to_have_count(1)
    page.reload()
    chat = Chat(page).open()
    chat.wait_online()
    page.wait_for_timeout(1500)  # the widget re-sends this browser's choice after welcome
    expect(confirmations).to_have_count(1)
    other = "中文" if button == "English" else "English"
    expect(page.locator("nia-chat .tools button").first).to_have_text(other)


@pytest.mark.parametrize("lang,ask,option,banner,still,leave,number_said,pending", [
    ("en", "Talk to a person", None, "No agent is online right now", "Still no agent is online",
     "Leave a message", "number T-", "not answered yet"),
    ("zh", "转人工客服", "意见建议", "目前没有在线的人工客服", "目前仍没有在线的人工客服",
     "留言", "编号 T-", "尚未回复"),
])
def test_no_agent_online_leave_a_message_and_read_it_on_another_device(
        live_server, context, browser, lang, ask, option, banner, still, leave, number_said, pending):
    page = context.new_page()
    chat = open_portal(page, live_server.url + f"/?lang={lang}")
    chat.type_and_send(ask)
    if option:
        page.locator("nia-chat .log .qr button", has_text=option).click()
    expect(chat.banner).to_contain_text(banner, timeout=60_000)
    expect(chat.banner).not_to_contain_text("Connecting you" if lang == "en" else "正在为您转接")
    chat.type_and_send("hello?" if lang == "en" else "有人吗？")
    expect(chat.log).to_contain_text(still)
    page.locator("nia-chat .log .qr button", has_text=leave).last.click()  # still offered
    chat.type_and_send("My visa ends next week" if lang == "en" else "我的签证下周到期")
    said = page.locator("nia-chat .log > li.m-system .bubble", has_text=number_said)
    expect(said).to_be_visible(timeout=30_000)
    number = re.search(r"T-\d{8}-[0-9A-Z]{4}", said.text_content()).group()
    # Another device, another chat: the number brings the state of the message.
    other = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        phone = other.new_page()
        chat2 = open_portal(phone, live_server.url + f"/?lang={lang}")
        chat2.type_and_send(number.lower())
        expect(phone.locator("nia-chat .log > li.m-system .bubble", has_text=pending)).to_contain_text(number)
    finally:
        other.close()
