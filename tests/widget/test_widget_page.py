"""The widget and pages in a real browser, without a chat server behind them: embedding, Shadow DOM
isolation, size, keyboard, limits, the offline outbox, the mobile layout and accessibility."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

from playwright.sync_api import expect

from widget_pages import Chat, axe_violations, small_touch_targets

WIDGET_JS = Path(__file__).resolve().parents[2] / "widget" / "static" / "widget.js"


def test_widget_is_small_and_never_parses_message_text_as_html():
    source = WIDGET_JS.read_bytes()
    assert len(gzip.compress(source, 9)) <= 30 * 1024
    text = source.decode()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function"):
        assert sink not in text, sink


def test_one_script_tag_embeds_an_isolated_configurable_widget(context, site):
    page = context.new_page()
    page.goto(f"{site}/host.html")
    chat = Chat(page)
    expect(chat.launcher).to_be_visible()
    host = page.locator("nia-chat")
    assert host.get_attribute("server") == "ws://127.0.0.1:9/ws"
    assert page.evaluate("() => !!document.querySelector('nia-chat').shadowRoot")
    style = chat.launcher.evaluate(
        "(b) => { const s = getComputedStyle(b); return [s.backgroundColor, s.fontSize, s.borderTopStyle]; }")
    assert style == ["rgb(138, 21, 56)", "15px", "none"]  # data-color, not the host's lime
    expect(chat.launcher).to_contain_text("12367 ONLINE")
    chat.open()
    expect(chat.input).to_be_visible()  # the host hides every textarea; not this one
    assert chat.input.evaluate("(t) => getComputedStyle(t).fontSize") == "15px"
    expect(page.locator("nia-chat .tools button").first).to_have_text("中文")  # data-lang="en"


def test_portal_languages_and_phone_qr(context, site):
    page = context.new_page()
    page.goto(f"{site}/")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    expect(page.locator("h1")).to_have_text("12367 移民管理服务平台")
    expect(page.locator("nia-chat .launcher")).to_contain_text("在线咨询")
    qr = page.locator("footer img")
    assert qr.get_attribute("src") == "/qr.svg"
    expect(page.locator("footer figcaption")).to_contain_text("扫码用手机咨询")
    expect(page.locator("footer figcaption")).to_contain_text("scan to chat on your phone")

    page.locator(".langs a[data-lang=en]").click()
    page.wait_for_url("**/?lang=en")
    assert page.evaluate("document.documentElement.lang") == "en"
    expect(page.locator("h1")).to_have_text("12367 Immigration Service Platform")
    expect(page.locator("nia-chat .launcher")).to_contain_text("Chat with us")
    expect(page.locator("footer figcaption")).to_contain_text("扫码用手机咨询")
    page.locator("#open-chat").click()  # the portal's own button opens the widget
    expect(page.locator("nia-chat .panel")).to_be_visible()
    expect(page.locator("nia-chat #nia-input")).to_have_attribute("placeholder", "Type your question")


def test_keyboard_only_open_close_and_focus(context, site):
    page = context.new_page()
    page.goto(f"{site}/")
    chat = Chat(page)
    for _ in range(40):  # Tab through the page until the launcher has focus
        page.keyboard.press("Tab")
        if chat.active_id() == "launcher":
            break
    assert chat.active_id() == "launcher"
    assert chat.launcher.get_attribute("aria-expanded") == "false"
    page.keyboard.press("Enter")
    expect(chat.panel).to_be_visible()
    assert chat.launcher.get_attribute("aria-expanded") == "true"
    assert chat.active_id() == "nia-input"  # focus moved into the panel
    assert chat.panel.get_attribute("role") == "dialog"
    page.keyboard.press("Tab")
    assert "send" in chat.active_id()
    page.keyboard.press("Escape")
    expect(chat.panel).to_be_hidden()
    assert chat.active_id() == "launcher"  # and back to the button


def test_text_over_2000_characters_is_blocked_with_a_message(context, site):
    page = context.new_page()
    page.goto(f"{site}/")
    chat = Chat(page).open()
    chat.input.fill("签" * 2001)
    expect(page.locator("nia-chat #nia-err")).to_contain_text("2000")
    expect(chat.send_button).to_have_attribute("aria-disabled", "true")
    expect(chat.input).to_have_attribute("aria-invalid", "true")
    chat.input.press("Enter")
    chat.send_button.click(force=True)
    expect(page.locator("nia-chat .log > li.m-visitor")).to_have_count(0)
    assert not (chat.stored() or {}).get("outbox")
    chat.input.fill("签" * 2000)  # exactly the limit is fine
    expect(page.locator("nia-chat #nia-err")).to_have_text("")
    expect(chat.send_button).to_have_attribute("aria-disabled", "false")


def test_messages_typed_offline_are_kept_across_a_reload(context, site):
    page = context.new_page()
    page.goto(f"{site}/")
    chat = Chat(page).open()
    expect(chat.status).to_contain_text("重试", timeout=10_000)  # no server: offline, retrying
    chat.type_and_send("<img src=x onerror=alert(1)>离线时发的消息")
    bubble = page.locator("nia-chat .log > li.m-visitor")
    expect(bubble).to_have_count(1)
    expect(bubble.locator(".bubble")).to_have_text("<img src=x onerror=alert(1)>离线时发的消息")
    expect(bubble).to_have_attribute("data-status", "waiting")
    assert page.locator("nia-chat .log img").count() == 0
    outbox = chat.stored()["outbox"]
    assert [m["text"] for m in outbox] == ["<img src=x onerror=alert(1)>离线时发的消息"]
    page.reload()
    chat = Chat(page)
    expect(chat.panel).to_be_visible()  # an open panel stays open after a reload
    expect(page.locator("nia-chat .log > li.m-visitor .bubble")).to_have_text(
        ["<img src=x onerror=alert(1)>离线时发的消息"])
    assert chat.stored()["outbox"][0]["id"] == outbox[0]["id"]  # resent later with the same id


def test_reconnect_backoff_grows_with_jitter_and_is_capped(context, site):
    page = context.new_page()
    page.goto(f"{site}/")
    delays = page.evaluate("""() => [0, 1, 2, 3, 4, 5, 10].map((a) =>
        Array.from({length: 200}, () => NiaChat.backoffDelay(a)))""")
    means = [sum(d) / len(d) for d in delays[:4]]  # attempts 0-3, below the cap
    assert means == sorted(means) and means[3] > 3 * means[0]
    assert all(min(d) >= 250 * 2 ** min(a, 4) * 0.99 for a, d in zip([0, 1, 2, 3, 4], delays, strict=False))
    assert max(max(d) for d in delays) <= 8000
    assert len(set(delays[3])) > 150  # jitter: clients do not reconnect in lockstep
    assert page.evaluate("() => NiaChat.safeHttpUrl('javascript:alert(1)')") is None
    assert page.evaluate("() => NiaChat.safeHttpUrl('https://en.nia.gov.cn/x')") == "https://en.nia.gov.cn/x"


def test_mobile_page_fits_a_small_phone_with_big_touch_targets(phone_context, site):
    page = phone_context.new_page()
    page.goto(f"{site}/m?lang=zh")
    chat = Chat(page)
    expect(chat.panel).to_be_visible()
    expect(chat.launcher).to_be_hidden()
    viewport = page.locator("meta[name=viewport]").get_attribute("content")
    assert "viewport-fit=cover" in viewport
    assert "env(safe-area-inset-bottom)" in WIDGET_JS.read_text()
    box = chat.panel.bounding_box()
    assert box["width"] == 360 and box["height"] == 640
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    assert small_touch_targets(page) == []


def test_axe_portal_and_open_panel_have_no_serious_violations(context, site, axe_source):
    page = context.new_page()
    page.goto(f"{site}/")
    page.locator("nia-chat .launcher").wait_for()
    page.wait_for_function("() => document.querySelector('footer img').complete")
    assert axe_violations(page, axe_source) == []
    Chat(page).open()
    assert axe_violations(page, axe_source) == []
    for lang in ("en", "zh-HK"):
        page.goto(f"{site}/?lang={lang}")
        Chat(page).open()
        assert axe_violations(page, axe_source) == []


def test_axe_mobile_page(phone_context, site, axe_source):
    page = phone_context.new_page()
    page.goto(f"{site}/m")
    expect(page.locator("nia-chat .panel")).to_be_visible()
    assert axe_violations(page, axe_source) == []
    assert re.search(r"12367", page.title())


def test_conversation_dedupes_by_seq_and_tracks_the_contiguous_last_seq(context, site):
    page = context.new_page()
    page.goto(f"{site}/host.html")
    result = page.evaluate("""() => {
        const c = new NiaChat.Conversation({session: 'tok', lastSeq: 2,
            events: [{type: 'reply', seq: 1}, {type: 'state', seq: 2, state: 'bot'}],
            outbox: [{id: 'c-1', text: '在吗', ts: 'x'}, {id: 'c-2', text: 'hello', ts: 'y'}]});
        const fresh = [c.accept({type: 'reply', seq: 2}), c.accept({type: 'reply', seq: 4}),
                       c.accept({type: 'reply', seq: 4})];
        const gap = c.lastSeq;                       // 3 is missing: replay must start after 2
        const acked = c.ack('c-1', 3);               // our message became seq 3
        const pushed = c.accept({type: 'visitor', seq: 5, id: 'c-2', text: 'hello'});
        return {fresh, gap, acked, pushed, last: c.lastSeq, seqs: c.events.map((e) => e.seq),
                outbox: c.outbox.map((m) => m.id), again: c.ack('c-1', 3)};
    }""")
    assert result["fresh"] == [False, True, False]
    assert result["gap"] == 2
    assert result["acked"] == {"type": "visitor", "seq": 3, "id": "c-1", "text": "在吗", "ts": "x"}
    assert result["pushed"] is True
    assert result["last"] == 5 and result["seqs"] == [1, 2, 3, 4, 5]
    assert result["outbox"] == [] and result["again"] is None


DETAILS_MARKUP = """Materials:
- passport <img src=x onerror=alert(1)>
- the form, see https://s.nia.gov.cn/mps/ (online).
1. Book a slot
2. Go in person

Where: the exit-entry office; javascript:alert(1) stays text
Address: https://en.nia.gov.cn.
A long sentence that only mentions a colon much later than a label would: so it stays plain."""


def test_an_answer_in_parts_is_built_from_the_small_markup_as_dom_nodes(phone_context, site):
    """The reply frame's title / short / details (docs/protocol.md) become a heading, the short
    answer, and collapsed details made of p, ul, ol, strong and a elements; nothing is parsed as
    HTML, only http(s) URLs become links, and a reply without parts is shown as plain text."""
    page = phone_context.new_page()
    page.goto(f"{site}/m?lang=en")
    expect(page.locator("nia-chat .panel")).to_be_visible()
    sources = [{"title": "中华人民共和国出境入境管理法 / Exit and Entry Administration Law", "url": "https://www.gov.cn/law", "type": "law", "ref": "Art. 29"},
               {"title": "Bad", "url": "javascript:alert(1)", "type": "notice", "ref": "2024-01-01"},
               {"title": "Cited by title", "url": None, "type": "regulation", "ref": "Art. 14"}]
    events = [
        {"type": "visitor", "seq": 1, "id": "c-1", "text": "visa?", "ts": "2026-12-06T00:00:00Z"},
        {"type": "reply", "seq": 2, "from": "bot", "lang": "en", "script": "en",
         "text": "whole answer", "title": "Title <b>not bold</b>", "short": "Short answer. See https://en.nia.gov.cn.",
         "details": DETAILS_MARKUP, "sources": sources, "quick_replies": [], "meta": {"kind": "answer"}},
        {"type": "reply", "seq": 3, "from": "bot", "lang": "en", "script": "en",
         "text": "Old reply\n- not a list <i>x</i>", "sources": [], "quick_replies": [], "meta": {"kind": "notice"}},
    ]
    key = page.evaluate("() => document.querySelector('nia-chat').storageKey")
    stored = json.dumps({"session": "tok", "lastSeq": 3, "events": events, "outbox": []})
    # Stored before the widget starts (the page saves its own state when it unloads).
    page.add_init_script(f"localStorage.setItem({json.dumps(key)}, {json.dumps(stored)})")
    page.reload()
    answer = page.locator("nia-chat .log > li[data-seq='2'] .bubble")
    expect(answer.locator("h3.ttl")).to_have_text("Title <b>not bold</b>")
    expect(answer.locator(".short")).to_have_text("Short answer. See https://en.nia.gov.cn.")
    assert answer.locator(".short a").get_attribute("href") == "https://en.nia.gov.cn/"
    details, toggle = answer.locator(".det"), answer.locator(".lead + .tog")
    expect(details).to_be_hidden()
    toggle.click()
    expect(details).to_be_visible()
    assert page.locator("nia-chat .log b, nia-chat .log img, nia-chat .log i").count() == 0
    assert details.locator("ul > li").all_text_contents() == [
        "passport <img src=x onerror=alert(1)>", "the form, see https://s.nia.gov.cn/mps/ (online)."]
    assert [li.get_attribute("value") for li in details.locator("ol > li").all()] == ["1", "2"]
    assert details.locator("ol > li").all_text_contents() == ["Book a slot", "Go in person"]
    assert details.locator("strong.k").all_text_contents() == ["Materials:", "Where:", "Address:"]
    assert [a.get_attribute("href") for a in details.locator("a").all()] == [
        "https://s.nia.gov.cn/mps/", "https://en.nia.gov.cn/"]
    assert details.locator("a").last.text_content() == "https://en.nia.gov.cn"  # the full stop stays text
    for a in details.locator("a").all():
        assert a.get_attribute("target") == "_blank" and "noopener" in a.get_attribute("rel")
    expect(details.locator("p").last).to_have_text(re.compile(r"^A long sentence"))
    assert details.locator("p").last.locator("strong").count() == 0

    src = answer.locator(".src")
    expect(src.locator(".tog")).to_have_text("Sources (3)")
    # In an English answer the first source's one line starts with its English title.
    expect(src.locator("li").first).to_have_text("Exit and Entry Administration Law / 中华人民共和国出境入境管理法 (Art. 29)")
    expect(src.locator("li").nth(1)).to_be_hidden()
    src.locator(".tog").click()
    expect(src.locator("li").nth(1)).to_be_visible()
    assert [a.get_attribute("href") for a in src.locator("a").all()] == ["https://www.gov.cn/law"]
    expect(src.locator("li").nth(2)).to_have_text("Cited by title (Art. 14)")

    old = page.locator("nia-chat .log > li[data-seq='3'] .bubble")
    expect(old).to_have_text("Old reply\n- not a list <i>x</i>")
    assert old.locator("*").count() == 0 and old.locator(".tog").count() == 0


def test_every_answer_of_the_corpus_fits_a_phone_down_to_its_first_source(phone_context, site):
    """Every entry, in English and Chinese, drawn as the widget draws an answer in parts on
    360×640: from the top of the bubble to the end of the sources line fits in the chat log."""
    from retrieval.answers import render_answer
    from retrieval.corpus import load_corpus
    from runtime.language import to_script

    class Analyzer:
        def to_script(self, text, script):
            return to_script(text, script)

    entries = load_corpus(WIDGET_JS.parents[2] / "knowledge").entries
    events = []
    for entry in entries.values():
        for lang, script in (("zh", "zh-Hans"), ("en", "en")):
            a = render_answer(entry, entries, Analyzer(), lang, script)
            events.append({"type": "reply", "seq": len(events) + 1, "from": "bot", "lang": lang,
                           "script": script, "text": a.text, "title": a.title, "short": a.short,
                           "details": a.details, "sources": list(a.sources), "quick_replies": [],
                           "meta": {"kind": "answer", "entry": entry.id}})
    page = phone_context.new_page()
    page.goto(f"{site}/m?lang=zh")
    expect(page.locator("nia-chat .panel")).to_be_visible()
    key = page.evaluate("() => document.querySelector('nia-chat').storageKey")
    stored = json.dumps({"session": "tok", "lastSeq": len(events), "events": events, "outbox": []})
    page.add_init_script(f"localStorage.setItem({json.dumps(key)}, {json.dumps(stored)})")
    page.reload()
    expect(page.locator("nia-chat .log > li.m-bot")).to_have_count(len(events))
    result = page.evaluate("""() => {
        const log = document.querySelector('nia-chat').shadowRoot.querySelector('.log');
        return {room: log.clientHeight, tall: [...log.querySelectorAll(':scope > li')].map((li) => {
            const bubble = li.querySelector('.bubble');
            return [li.dataset.seq, bubble.querySelector('.src').getBoundingClientRect().bottom
                    - bubble.getBoundingClientRect().top];
        })};
    }""")
    assert result["room"] > 400
    too_tall = [(events[int(seq) - 1]["meta"]["entry"], events[int(seq) - 1]["lang"], round(h))
                for seq, h in result["tall"] if h + 8 > result["room"]]
    assert too_tall == [], (result["room"], too_tall)
