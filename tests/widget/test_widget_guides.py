"""The service guides, the look-up's date of birth and the consent question in the widget, as a
visitor uses them in Debian chromium against a real server, by keyboard only: the guides opened,
a procedure picked in its labelled group (one Tab stop, arrows, Enter or Space), the checklist
with its ☐ items, and its PDF downloaded through the button (a real download, read back with
pdftotext), at 360×640 and on a desktop, in English and Traditional Chinese; an impossible date
of birth refused with a clear error; a request for a person mid-form answered with the consent
buttons. Takes docs/screenshots/guide-widget-en.png, guide-widget-phone-zh.png and
consent-phone.png (`make screenshots`)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from widget_pages import Chat, axe_violations, small_touch_targets

ROOT_JS = "document.querySelector('nia-chat').shadowRoot"
# Demo data (services/demo_records.yaml, fictional): a PR card holder's passport e-document.
PR_CARD, PASSPORT, BIRTH = "900000198501010017", "XB2468013", "1985-01-01"


@dataclass(frozen=True)
class Visitor:
    """What one visitor types and sees, in their language and script."""

    lang: str
    page: str  # ?lang= of the mobile page (the portal has only zh and en)
    guides: str  # the greeting menu's choice, or the same words typed
    legend: str
    procedure: str  # the button's label: the guide's title
    item: str  # one ☐ item of its checklist
    heading: str
    download: str


ENGLISH = Visitor("en", "en", "Service guides", "Choose a procedure", "Work-type residence permit",
                  "☐ work permit", "Checklist", "Download the checklist (PDF)")
# On the phone page in Traditional (?lang=zh-Hant) the greeting's menu is Traditional; on the
# Simplified portal a Traditional writer types the choice in their own script. The guides, the
# checklist, its PDF and the panel's labels follow that script.
TRADITIONAL = Visitor("zh", "zh-Hant", "辦事指南", "請選擇辦理事項", "工作類居留證件（在華工作的外國人）",
                      "☐ 工作許可", "材料清單", "下載材料清單（PDF）")


def focused(page: Page) -> dict | None:
    """The widget's focused control: its tag, accessible text and focus ring."""
    return page.evaluate(f"""() => {{
        const a = {ROOT_JS}.activeElement;
        if (!a) return null;
        const s = getComputedStyle(a);
        return {{tag: a.tagName, text: a.textContent.trim(), value: a.dataset.value || a.value || null,
                 ring: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
                 group: a.closest('fieldset')?.dataset.field || null}};
    }}""")


def shift_tab_until(page: Page, chat: Chat, wanted, what: str) -> dict:
    """From the message box, Shift+Tab back until ``wanted(focused)`` holds."""
    chat.input.focus()
    for _ in range(20):
        page.keyboard.press("Shift+Tab")
        now = focused(page)
        if now and wanted(now):
            return now
    raise AssertionError(f"Shift+Tab never reached {what}")


def open_by_keyboard(page: Page, url: str, phone: bool) -> Chat:
    page.goto(url)
    chat = Chat(page)
    if not phone:  # the launcher button, pressed from the keyboard; focus moves to the message box
        chat.launcher.focus()
        page.keyboard.press("Enter")
        expect(chat.input).to_be_focused()
    expect(chat.panel).to_be_visible()
    chat.wait_online()
    expect(page.locator("nia-chat .log > li.m-bot").first).to_be_visible()  # the greeting
    return chat


def open_the_guides(page: Page, chat: Chat, who: Visitor, typed: bool) -> None:
    if typed:
        chat.input.press_sequentially(who.guides)
    else:  # the greeting's menu: one Shift+Tab back from the message box
        shift_tab_until(page, chat, lambda f: f["text"] == who.guides, who.guides)
    page.keyboard.press("Enter")


def pick_by_keyboard(page: Page, chat: Chat, who: Visitor, key: str, shot: Path | None) -> None:
    """One Tab stop for the whole group, the arrows inside it, then Enter or Space; ``shot``
    takes the group with the chosen procedure focused."""
    group = page.locator("nia-chat fieldset.choices[data-field=guide]")
    expect(group).to_be_visible(timeout=30_000)
    expect(page.get_by_role("group", name=who.legend)).to_be_visible()
    expect(group.locator("button")).to_have_count(13)
    first = shift_tab_until(page, chat, lambda f: f["group"] == "guide", "the procedures")
    assert first["ring"], first  # the focus is visible
    page.keyboard.press("ArrowDown")
    now = focused(page)
    assert now and now["text"] == who.procedure and now["ring"], now
    if shot:
        page.screenshot(path=shot)
    page.keyboard.press(key)
    expect(chat.input).to_be_focused()  # not lost with the group: one Shift+Tab from what follows


def download_by_keyboard(page: Page, chat: Chat, who: Visitor, tmp_path: Path) -> str:
    """The checklist's button, one Shift+Tab back from the message box; the PDF's text."""
    link = shift_tab_until(page, chat, lambda f: f["tag"] == "A", "the download button")
    assert link["text"] == who.download and link["ring"], link
    with page.expect_download() as arriving:
        page.keyboard.press("Enter")
    download = arriving.value
    assert download.failure() is None
    assert download.suggested_filename == "residence-permit-work.pdf"
    pdf = tmp_path / download.suggested_filename
    download.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    return subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout


@pytest.mark.parametrize("who", [ENGLISH, TRADITIONAL], ids=["en", "zh-Hant"])
@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_a_guide_picked_and_its_checklist_downloaded_by_keyboard(
        live_server, browser, screenshots, axe_source, tmp_path, who, phone):
    size = {"width": 360, "height": 640} if phone else {"width": 1280, "height": 800}
    context = browser.new_context(viewport=size, is_mobile=phone, has_touch=phone,
                                  device_scale_factor=2 if phone else 1, locale="zh-CN",
                                  accept_downloads=True)
    page = context.new_page()
    path = f"/m?lang={who.page}" if phone else f"/?lang={who.lang}"
    chat = open_by_keyboard(page, live_server.url + path, phone)
    open_the_guides(page, chat, who, typed=who.lang == "zh" and not phone)
    # The screenshots: the procedures on a desktop, the checklist's button on a phone.
    shot = screenshots / "guide-widget-en.png" if (who.lang, phone) == ("en", False) else None
    pick_by_keyboard(page, chat, who, "Enter" if who.lang == "en" else "Space", shot)
    assert chat.visitor_texts()[0] == who.guides
    assert who.procedure in chat.visitor_texts()[-1]  # the same text a visitor could type

    reply = page.locator("nia-chat .log > li.m-bot").last
    expect(reply).to_contain_text(who.item, timeout=60_000)
    box = reply.locator(".edoc")
    expect(box.locator("h4")).to_have_text(who.heading)
    expect(page.get_by_role("link", name=who.download)).to_be_visible()
    expect(page.locator("nia-chat fieldset.choices")).to_have_count(0)  # answered: the group is gone
    # The link's address is the button's, not 43 characters of token in the text.
    assert "/guides/" not in (reply.locator(".bubble").text_content() or "")
    if phone:
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
        assert small_touch_targets(page) == []
    assert axe_violations(page, axe_source) == []
    if (who.lang, phone) == ("zh", True):
        box.evaluate("(b) => b.scrollIntoView({block: 'end'})")
        page.wait_for_timeout(300)
        page.screenshot(path=screenshots / "guide-widget-phone-zh.png")

    text = download_by_keyboard(page, chat, who, tmp_path)
    assert who.procedure in text.replace("\n", "")  # the guide's title
    assert who.item.removeprefix("☐ ") in text
    context.close()


def start_the_look_up(page: Page, chat: Chat) -> None:
    """The passport look-up, its card and passport numbers given: it asks the date of birth."""
    chat.type_and_send("PR holder passport info")
    expect(page.locator("nia-chat .log > li.m-bot").last).to_contain_text(
        "permanent resident ID card number", timeout=30_000)
    chat.type_and_send(f"{PR_CARD} {PASSPORT}")


def test_a_date_of_birth_that_does_not_exist_gets_a_clear_error(live_server, phone_context):
    """Typed into the date field with the keyboard: 30 February is refused before anything is
    sent, and a real date is sent as its ISO day."""
    page = phone_context.new_page()
    chat = open_by_keyboard(page, live_server.url + "/m?lang=en", phone=True)
    start_the_look_up(page, chat)
    field = page.locator("nia-chat .datepick.birth input")
    expect(field).to_be_visible(timeout=30_000)
    sent = len(chat.visitor_texts())

    field.focus()
    page.keyboard.type("02301985")  # month, day, year as the field shows them: 02/30/1985
    page.keyboard.press("Enter")
    error = page.locator("nia-chat .datepick.birth .err")
    expect(error).to_have_text("This date is not complete or does not exist: enter the day, "
                               "month and year of a real date.")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    assert len(chat.visitor_texts()) == sent  # nothing was sent

    page.keyboard.press("ArrowLeft")  # back from the year to the day, to the month
    page.keyboard.press("ArrowLeft")
    page.keyboard.type("01011985")
    expect(field).to_have_value(BIRTH)
    expect(error).to_have_text("")
    page.keyboard.press("Enter")
    expect(chat.input).to_be_focused()
    expect(page.locator("nia-chat .bubble .edoc")).to_be_visible(timeout=60_000)
    assert chat.visitor_texts()[-1] == BIRTH


def test_a_request_for_a_person_mid_form_gets_the_consent_buttons_on_a_phone(
        live_server, phone_context, screenshots, axe_source):
    page = phone_context.new_page()
    chat = open_by_keyboard(page, live_server.url + "/m?lang=en", phone=True)
    start_the_look_up(page, chat)
    expect(page.locator("nia-chat .datepick.birth input")).to_be_visible(timeout=30_000)
    chat.type_and_send("I want to talk to a person")

    group = page.locator("nia-chat fieldset.choices[data-field=consent]")
    expect(group).to_be_visible(timeout=30_000)
    expect(page.get_by_role("group", name="May the agent see your details in full?")).to_be_visible()
    expect(group.get_by_role("button")).to_have_text(["Yes, the agent may see them",
                                                      "No, keep them masked"])
    assert small_touch_targets(page) == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    assert axe_violations(page, axe_source) == []
    group.evaluate("(g) => g.scrollIntoView({block: 'end'})")
    expect(group.get_by_role("button").last).to_be_in_viewport()
    page.screenshot(path=screenshots / "consent-phone.png")

    first = shift_tab_until(page, chat, lambda f: f["group"] == "consent", "the consent buttons")
    assert first["text"] == "Yes, the agent may see them" and first["ring"], first
    page.keyboard.press("ArrowRight")
    now = focused(page)
    assert now and now["text"] == "No, keep them masked" and now["ring"], now
    page.keyboard.press("Space")
    expect(chat.input).to_be_focused()
    expect(page.locator("nia-chat .log > li.m-bot", has_text="OK: the agent sees your details masked.")
           ).to_be_visible(timeout=30_000)
    assert chat.visitor_texts()[-1] == "No, keep them masked"
    expect(group).to_have_count(0)


def test_the_groups_are_labelled_in_the_replys_script_and_a_link_left_as_text_when_not_drawn(
        context, site):
    """Scripted frames (no server): the consent question in Traditional and the procedures in
    Simplified get their group's legend in that script; a download the widget does not draw (not
    http(s)) leaves the reply's text as it came."""
    from test_widget_scripted import push, scripted

    page, chat = scripted(context, site, "zh")
    yes_no = [{"label": t, "value": t} for t in ("同意，客服可以查看", "不同意，保持遮蓋")]
    push(page, {"type": "reply", "seq": 2, "from": "bot", "lang": "zh", "script": "zh-Hant",
                "text": "是否同意客服查看完整信息？", "quick_replies": yes_no,
                "meta": {"kind": "consent_ask"}})
    expect(page.get_by_role("group", name="是否同意客服查看完整信息？")).to_be_visible()
    expect(page.locator("nia-chat fieldset[data-field=consent] button")).to_have_text(
        ["同意，客服可以查看", "不同意，保持遮蓋"])
    work = {"label": "工作类居留证件", "value": "下载材料清单：工作类居留证件"}
    push(page, {"type": "reply", "seq": 3, "from": "bot", "lang": "zh", "script": "zh-Hans",
                "text": "请选择要办理的事项：", "quick_replies": [work],
                "meta": {"kind": "guide_pick", "guides": ["residence-permit-work"]}})
    expect(page.get_by_role("group", name="请选择办理事项")).to_be_visible()
    expect(page.locator("nia-chat fieldset[data-field=consent]")).to_have_count(0)
    page.locator("nia-chat fieldset[data-field=guide] button").click()
    assert chat.visitor_texts() == ["下载材料清单：工作类居留证件"]  # the value, as typed
    push(page, {"type": "reply", "seq": 5, "from": "bot", "lang": "en", "script": "en",
                "text": "Download the checklist (PDF): ftp://example.org/guides/abc",
                "meta": {"kind": "guide", "download": "ftp://example.org/guides/abc"}})
    expect(page.locator("nia-chat .log > li[data-seq='5'] .bubble")).to_have_text(
        "Download the checklist (PDF): ftp://example.org/guides/abc")
    assert page.locator("nia-chat .edoc").count() == 0
