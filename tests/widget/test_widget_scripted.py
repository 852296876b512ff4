"""What a visitor sees in situations a live server produces only rarely or slowly, played to the
widget by a scripted websocket in the page (no server): the assistant still starting after a
restart, the queue with nobody online, the end of a chat, an answer with three sources, and
keyboard use (Tab stays in the panel). Both languages where there is text. Also the portal's
service cards, "Chat online" link and the 360 px layout."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from widget_pages import Chat

# A WebSocket stand-in: records what the widget sends, answers hello with window.__welcome and
# lets the test push frames with window.__push(frame).
FAKE_WS = """
(() => {
  window.__sent = [];
  window.__welcome = {state: 'bot'};
  class FakeWS {
    static CONNECTING = 0; static OPEN = 1; static CLOSING = 2; static CLOSED = 3;
    constructor(url) {
      this.url = url; this.readyState = 0; window.__ws = this;
      setTimeout(() => { this.readyState = 1; this.onopen && this.onopen({}); }, 5);
    }
    send(data) {
      const f = JSON.parse(data); window.__sent.push(f);
      if (f.type === 'hello') this.deliver({type: 'welcome', session: 'tok', lang: f.lang || f.page_lang || 'zh',
          locked: !!f.lang, last_seq: 0, expires_at: '2030-01-01T00:00:00Z', ...window.__welcome});
      if (f.type === 'ping') this.deliver({type: 'pong'});
    }
    deliver(f) { this.onmessage && this.onmessage({data: JSON.stringify(f)}); }
    close() { this.readyState = 3; this.onclose && this.onclose({code: 1000}); }
  }
  window.WebSocket = FakeWS;
  window.__push = (f) => window.__ws.deliver(f);
})();
"""


def scripted(context, site, lang: str, path: str = "/", **welcome) -> tuple[Page, Chat]:
    page = context.new_page()
    page.add_init_script(FAKE_WS)
    page.add_init_script(f"window.__welcomeInit = {welcome!r};".replace("True", "true").replace("None", "null"))
    page.add_init_script("window.__welcome = Object.assign({state: 'bot'}, window.__welcomeInit);")
    page.goto(f"{site}{path}?lang={lang}")
    chat = Chat(page).open()
    chat.wait_online()
    return page, chat


def push(page: Page, frame: dict) -> None:
    page.evaluate("(f) => window.__push(f)", frame)


def visible_text(page: Page) -> str:
    """What the panel shows, without the screen reader's live region (``.sr``): that one says
    new replies again 250 ms later, so counting it would count a reply twice on a slow machine."""
    return page.evaluate("""() => {
        const panel = document.querySelector('nia-chat').shadowRoot.querySelector('.panel');
        const spoken = [...panel.querySelectorAll('.sr')];
        spoken.forEach(e => { e.style.display = 'none'; });
        const text = panel.innerText;
        spoken.forEach(e => { e.style.display = ''; });
        return text;
    }""")


@pytest.mark.parametrize("lang,starting,ready", [
    ("en", "Assistant starting: your answer is on its way", "Connected"),
    ("zh", "智能助手启动中，稍后即为您解答", "已连接"),
])
def test_after_a_restart_the_visitor_sees_the_assistant_is_starting(context, site, lang, starting, ready):
    page, chat = scripted(context, site, lang, starting=True)
    expect(chat.status).to_contain_text(starting)
    chat.type_and_send("visa")
    push(page, {"type": "typing", "from": "bot", "on": True})  # the server says an answer is coming
    expect(page.locator("nia-chat .typing")).to_be_visible()
    push(page, {"type": "ready"})
    expect(chat.status).to_contain_text(ready)
    expect(chat.status).not_to_contain_text(starting)


@pytest.mark.parametrize("lang,says,never", [
    ("en", "No agent is online right now: you are number 2 in line", "Connecting you"),
    ("zh", "目前没有在线的人工客服：您排在第 2 位", "正在为您转接"),
])
def test_queue_with_nobody_online_does_not_say_connecting(context, site, lang, says, never):
    page, chat = scripted(context, site, lang)
    push(page, {"type": "state", "seq": 1, "state": "queued", "queue": "nia-service-center",
                "position": 2, "eta_s": None})
    expect(chat.banner).to_contain_text(says)
    expect(chat.banner).not_to_contain_text(never)


@pytest.mark.parametrize("lang,ended", [("en", "This chat has ended"), ("zh", "本次咨询已结束")])
def test_the_end_of_a_chat_is_said_once(context, site, lang, ended):
    page, chat = scripted(context, site, lang)
    push(page, {"type": "state", "seq": 1, "state": "closed"})
    text = {"en": "This chat has ended. Please rate it (1-5 stars). You can start a new chat anytime.",
            "zh": "本次咨询已结束。请为本次服务评分（1-5 星）。如需继续咨询，可以开始新的对话。"}[lang]
    push(page, {"type": "reply", "seq": 2, "from": "system", "text": text, "lang": lang,
                "sources": [], "quick_replies": [], "meta": {"kind": "notice"}})
    expect(page.locator("nia-chat .log > li[data-seq='2']")).to_be_visible()
    expect(chat.banner).to_be_hidden()
    assert visible_text(page).count(ended) == 1


@pytest.mark.parametrize("lang,label", [("en", "Sources (1)"), ("zh", "来源（1）")])
def test_one_source_is_counted_plainly(context, site, lang, label):
    page, chat = scripted(context, site, lang)
    sources = [{"title": "Law 1", "url": "https://www.nia.gov.cn/1", "type": "law", "ref": "Art. 1"}]
    push(page, {"type": "reply", "seq": 1, "from": "bot", "text": "An answer.", "lang": lang,
                "short": "An answer.", "sources": sources, "quick_replies": [],
                "meta": {"kind": "answer"}})
    expect(page.locator("nia-chat .log .src .tog")).to_have_text(label)


def test_tab_stays_in_the_chat_and_quick_replies_are_one_step_back_from_the_message_box(context, site):
    page, chat = scripted(context, site, "en")
    push(page, {"type": "reply", "seq": 1, "from": "bot", "text": "Hello", "lang": "en", "sources": [],
                "quick_replies": [{"label": "Visas", "value": "visas"}, {"label": "Talk to a person", "value": "person"}],
                "meta": {"kind": "greeting"}})
    chat.input.focus()
    inside = "() => !!document.querySelector('nia-chat').shadowRoot.activeElement"
    for _ in range(25):  # forward through every control, round and round
        page.keyboard.press("Tab")
        assert page.evaluate(inside), "focus left the chat"
    for _ in range(25):
        page.keyboard.press("Shift+Tab")
        assert page.evaluate(inside), "focus left the chat"
    chat.input.focus()
    page.keyboard.press("Shift+Tab")
    focused = page.evaluate("() => document.querySelector('nia-chat').shadowRoot.activeElement.textContent")
    assert focused == "Talk to a person"
    page.keyboard.press("Enter")
    assert page.evaluate("() => window.__sent.filter(f => f.type === 'message').map(f => f.text)") == ["person"]


@pytest.mark.parametrize("lang,card,question", [
    ("zh", "进度查询", "怎样查询证件办理进度？"),
    ("en", "Progress inquiry", "How can I check the progress of my application?"),
])
def test_portal_service_cards_and_chat_online_open_the_chat(context, site, lang, card, question):
    page = context.new_page()
    page.add_init_script(FAKE_WS)
    page.goto(f"{site}/?lang={lang}")
    chat = Chat(page)
    page.locator("nav a[href='#chat']").click()
    expect(chat.panel).to_be_visible()
    page.keyboard.press("Escape")
    expect(chat.panel).to_be_hidden()
    page.locator(".svc", has_text=card).click()
    expect(chat.panel).to_be_visible()
    expect(page.locator("nia-chat .log > li.m-visitor .bubble")).to_have_text([question])
    page.wait_for_function("(q) => window.__sent.some(f => f.type === 'message' && f.text === q)", arg=question)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_portal_at_360_px_keeps_the_language_link_on_one_line_and_the_hotline_clear(browser, site, lang):
    context = browser.new_context(viewport={"width": 360, "height": 640})
    try:
        page = context.new_page()
        page.add_init_script(FAKE_WS)
        page.goto(f"{site}/?lang={lang}")
        page.locator("nia-chat").wait_for(state="attached")
        link = page.locator(".langs a[data-lang=zh]").bounding_box()
        assert link["height"] < 40  # one line
        launcher = page.locator("nia-chat .launcher").bounding_box()
        for y in (0, 200, 400):  # wherever the visitor has scrolled
            page.evaluate(f"window.scrollTo(0, {y})")
            number = page.locator(".hotline .tel").bounding_box()
            overlap_x = min(number["x"] + number["width"], launcher["x"] + launcher["width"]) - max(number["x"], launcher["x"])
            overlap_y = min(number["y"] + number["height"], launcher["y"] + launcher["height"]) - max(number["y"], launcher["y"])
            assert overlap_x <= 0 or overlap_y <= 0, (number, launcher)
        expect(page.locator("nia-chat .launcher")).to_have_accessible_name("12367 ONLINE" + (" 在线咨询" if lang == "zh" else " Chat with us"))
        assert page.request.get(f"{site}/favicon.ico").status == 200
        # The open chat's language button ("中文" on an English page) stays on one line too.
        page.locator("nia-chat .launcher").click()
        lines = page.evaluate("""() => {
            const b = document.querySelector('nia-chat').shadowRoot.querySelector('.tools button');
            const r = document.createRange(); r.selectNodeContents(b);
            return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size; }""")
        assert lines == 1
    finally:
        context.close()
