"""The widget and the portal for Traditional Chinese and Cantonese writers, in Debian chromium
against a real server: a Traditional page (zh-Hant, a Taiwan or a Hong Kong phone) shows every
label, the greeting and its menu in Traditional, in Taiwan's standard or, for Hong Kong, Macao
and Cantonese, Hong Kong's; on a Simplified page a Cantonese question turns the labels
Traditional (Hong Kong) with its answer, a choice pressed afterwards is answered in Traditional,
and a Simplified question turns them back. The portal has a 繁體 version, chosen from its menu
(kept in the address) or from the browser's languages. The Traditional labels are OpenCC's
conversion of the Simplified ones (widget/labels.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from runtime.language_id import detect_language
from widget.labels import generated_files, traditional

from widget_pages import Chat

ROOT_JS = "document.querySelector('nia-chat').shadowRoot"
# What a visitor sees of the panel itself (not the messages), per script.
SIMPLIFIED = {"status": "已连接", "send": "发送", "save": "下载", "end": "结束",
              "placeholder": "请输入您的问题", "lang": "zh-CN"}
TRADITIONAL = {"status": "已連接", "send": "發送", "save": "下載", "end": "結束",
               "placeholder": "請輸入您的問題", "lang": "zh-Hant"}  # Taiwan standard
HONG_KONG = {**TRADITIONAL, "lang": "zh-HK"}  # these labels are written alike in both standards
# The answer's "details" button, where the two standards differ (說 / 説).
DETAILS = {"zh-Hant": "詳細說明", "zh-HK": "詳細説明"}


def test_the_traditional_labels_are_opencc_s_conversion_of_the_simplified_ones():
    for path, text in generated_files().items():
        assert path.read_text(encoding="utf-8") == text, "run `.venv/bin/python -m widget.labels`"
    js = (generated_files().popitem()[0].parent / "widget.js").read_text(encoding="utf-8")
    assert "placeholder: '請輸入您的問題'" in js
    # Hong Kong and Taiwan usage where it differs from a character-by-character conversion.
    for variant in ("zh-Hant", "zh-HK"):
        assert traditional("或在手机上打开以下链接：", variant) == "或在手機上打開以下連結："
    # The two standards: Taiwan's 臺 說 裡 啟, Hong Kong's 台 説 裏 啓.
    assert traditional("服务平台的详细说明在哪里？启动", "zh-Hant") == "服務平臺的詳細說明在哪裡？啟動"
    assert traditional("服务平台的详细说明在哪里？启动", "zh-HK") == "服務平台的詳細説明在哪裏？啓動"


def chrome(page: Page) -> dict:
    return page.evaluate(f"""() => {{
        const r = {ROOT_JS};
        const tools = [...r.querySelectorAll('.tools button')].map((b) => b.textContent);
        return {{status: r.querySelector('header .s span:not(.dot)').textContent,
                 send: r.querySelector('.send').textContent, save: tools[2], end: tools[3],
                 placeholder: r.querySelector('#nia-input').placeholder,
                 lang: r.querySelector('.w').getAttribute('lang')}};
    }}""")


def open_chat(browser: Browser, url: str, locale: str) -> tuple[Page, Chat]:
    context = browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True,
                                  has_touch=True, locale=locale)
    page = context.new_page()
    page.goto(url)
    chat = Chat(page)
    chat.wait_online()
    expect(page.locator("nia-chat .log > li.m-bot").first).to_be_visible()  # the greeting
    return page, chat


def last_bot(page: Page):
    return page.locator("nia-chat .log > li.m-bot").last


@pytest.mark.parametrize("url, locale, labels", [
    ("/m?lang=zh-Hant", "zh-CN", TRADITIONAL), ("/m", "zh-TW", TRADITIONAL),
    ("/m", "zh-HK", HONG_KONG), ("/m?lang=zh-MO", "en-US", HONG_KONG),
    ("/m?lang=zh-Hant", "zh-HK", HONG_KONG)],
    ids=["lang=zh-Hant", "taiwan-phone", "hong-kong-phone", "lang=zh-MO",
         "lang=zh-Hant-on-a-hong-kong-phone"])
def test_a_traditional_page_shows_traditional_labels_greeting_and_menu(
        live_server, browser, url, locale, labels):
    page, chat = open_chat(browser, live_server.url + url, locale)
    assert page.evaluate("document.documentElement.lang") == labels["lang"]
    assert page.title() == "12367 ONLINE 在線諮詢"
    assert chrome(page) == labels
    greeting = last_bot(page)
    expect(greeting.locator(".bubble")).to_contain_text("歡迎使用 12367 ONLINE 國家移民管理局在線諮詢")
    menu = greeting.locator(".qr button")
    expect(menu.filter(has_text="辦事指南")).to_have_count(1)
    assert "办事指南" not in menu.all_text_contents()

    menu.filter(has_text="辦事指南").click()
    expect(page.get_by_role("group", name="請選擇辦理事項")).to_be_visible(timeout=30_000)
    assert chat.visitor_texts() == ["辦事指南"]
    assert chrome(page) == labels
    page.context.close()


def test_the_labels_follow_a_cantonese_writer_and_back_on_a_simplified_page(live_server, browser):
    page, chat = open_chat(browser, live_server.url + "/m?lang=zh", "zh-CN")
    assert chrome(page) == SIMPLIFIED

    reply = chat.ask_for_answer("我嘅簽證就快到期，點樣延期呀？")
    assert reply["parts"], reply
    expect(page.locator("nia-chat .send")).to_have_text(TRADITIONAL["send"])
    assert chrome(page) == HONG_KONG  # a Cantonese writer reads Hong Kong characters
    expect(page.locator(f"nia-chat .log > li[data-seq='{reply['seq']}'] .tog").first).to_have_text(
        DETAILS["zh-HK"])
    assert page.locator(f"nia-chat .log > li[data-seq='{reply['seq']}'] .bubble"
                        ).get_attribute("lang") in ("yue", "zh-Hant")

    # A choice pressed afterwards (written in Traditional by the server) is answered in it.
    choice = page.locator(f"nia-chat .log > li[data-seq='{reply['seq']}'] .qr button").first
    label = choice.text_content() or ""
    assert label and traditional(label) == label, label
    replies = page.locator("nia-chat .log > li.m-bot")
    answered = replies.count()
    choice.click()
    expect(replies).to_have_count(answered + 1, timeout=60_000)
    assert last_bot(page).locator(".bubble").get_attribute("lang") in ("yue", "zh-Hant")
    # Its first line, not the sources' titles (those are bilingual)
    said = (last_bot(page).locator(".bubble").text_content() or "").splitlines()[0]
    assert detect_language(said).script in ("yue", "zh-Hant"), said
    assert chrome(page) == HONG_KONG

    chat.ask_for_answer("签证到期了怎么延期？")
    expect(page.locator("nia-chat .send")).to_have_text(SIMPLIFIED["send"])
    assert chrome(page) == SIMPLIFIED
    page.context.close()


# A third-party page on the server's own origin (so its websocket is allowed), with the one-tag
# embed: the widget takes the page's language or its own data-lang.
EMBED_PAGE = """<!doctype html><html lang="{html}"><head><meta charset="utf-8"><title>page</title>
</head><body><p>…</p><script src="/widget.js" {data} async></script></body></html>"""


@pytest.mark.parametrize("html, data, labels", [("zh-TW", "", TRADITIONAL),
                                               ("en", 'data-lang="zh-MO"', HONG_KONG)],
                         ids=["html-lang-zh-TW", "data-lang-zh-MO"])
def test_an_embedding_page_in_traditional_gets_the_widget_in_traditional(
        live_server, browser, html, data, labels):
    # Chromium counts a page the test fulfils as a public one and blocks its websocket to
    # 127.0.0.1 (Local Network Access): this browser lets it through.
    lenient = browser.browser_type.launch(
        executable_path="/usr/bin/chromium", headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-features=LocalNetworkAccessChecks"])
    page = lenient.new_page(locale="zh-CN")
    body = EMBED_PAGE.format(html=html, data=data)
    page.route(live_server.url + "/embed.html", lambda route: route.fulfill(
        status=200, content_type="text/html; charset=utf-8", body=body))
    page.goto(live_server.url + "/embed.html")
    expect(page.locator("nia-chat .launcher")).to_contain_text("在線諮詢")
    chat = Chat(page).open()
    chat.wait_online()
    greeting = last_bot(page)
    expect(greeting.locator(".bubble")).to_contain_text("歡迎使用")
    expect(greeting.locator(".qr button").filter(has_text="辦事指南")).to_have_count(1)
    assert chrome(page) == labels
    stored = chat.stored()
    assert stored and stored["script"] is None and not stored["langChosen"]  # nothing locked
    # The menu's "中文" is written alike in both scripts: the visitor's Traditional stays.
    greeting.locator(".qr button", has_text="中文").click()
    expect(last_bot(page).locator(".bubble")).to_have_text("好的，接下來我用中文回答。")
    assert chrome(page) == labels
    lenient.close()


# The portal's own text in each standard (portal.html converted by widget/labels.py).
PORTAL = {"zh-Hant": {"h1": "12367 移民管理服務平臺", "nav": "在線諮詢"},
          "zh-HK": {"h1": "12367 移民管理服務平台", "nav": "在線諮詢"}}


@pytest.mark.parametrize("locale, standard", [("zh-TW", "zh-Hant"), ("zh-HK", "zh-HK"),
                                              ("zh-MO", "zh-HK")],
                         ids=["taiwan-browser", "hong-kong-browser", "macao-browser"])
def test_the_portal_in_traditional_from_its_menu_and_from_the_browser(
        live_server, browser, screenshots, locale, standard):
    labels = {"zh-Hant": TRADITIONAL, "zh-HK": HONG_KONG}[standard]
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale=locale)
    page = context.new_page()
    # Chosen from the menu on the Simplified page: the address names the standard, to share.
    page.goto(live_server.url + "/?lang=zh")
    expect(page.locator("h1")).to_have_text("12367 移民管理服务平台")
    page.locator(".langs a", has_text="繁體").click()
    page.wait_for_url(f"**/?lang={standard}")
    assert page.evaluate("document.documentElement.lang") == standard
    expect(page.locator("h1")).to_have_text(PORTAL[standard]["h1"])
    expect(page.locator(".langs a[aria-current=true]")).to_have_text("繁體")
    assert page.title() == traditional("12367 移民管理服务平台（演示）", standard)
    expect(page.locator("nia-chat .launcher")).to_contain_text("在線諮詢")
    if locale == "zh-HK":
        page.wait_for_function("() => document.querySelector('footer img').naturalWidth > 0")
        page.screenshot(path=screenshots / "portal-zh-hk.png", full_page=True)

    # The widget on that page starts in the same standard and keeps it for a question in
    # standard written Chinese (not Cantonese); a service card asks in it too.
    chat = Chat(page).open()
    chat.wait_online()
    assert chrome(page) == labels
    answer = chat.ask_for_answer("簽證到期了怎麼延期？")
    assert answer["parts"], answer
    expect(page.locator(f"nia-chat .log > li[data-seq='{answer['seq']}'] .tog").first).to_have_text(
        DETAILS[standard])
    assert chrome(page) == labels
    page.locator(".svc", has_text=traditional("办事地点", standard)).click()
    question = traditional("出入境管理机构在哪里办理？", standard)
    chat.reply_after(question)
    assert chat.visitor_texts()[-1] == question
    assert chrome(page) == labels

    # 简体 turns the page and the chat Simplified, keeping its history.
    page.locator(".langs a", has_text="简体").click()
    page.wait_for_url("**/?lang=zh")
    expect(page.locator("h1")).to_have_text("12367 移民管理服务平台")
    Chat(page).open().wait_online()
    assert chrome(page) == SIMPLIFIED
    assert chat.visitor_texts()[-1] == question

    # A new visit without ?lang= takes the browser's language: the same Traditional page.
    fresh = context.new_page()
    fresh.goto(live_server.url + "/")
    assert fresh.evaluate("document.documentElement.lang") == standard
    expect(fresh.locator("h1")).to_have_text(PORTAL[standard]["h1"])
    context.close()
