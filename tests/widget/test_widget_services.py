"""The online services as controls in the widget, in Debian chromium against a real server whose
calendar starts on Monday 21 September 2026: an appointment booked by clicking (service, city,
day, time, confirm) ending in its confirmation card, the day and time chosen with the keyboard
only, the date picker refusing a holiday, a phone's 360×640 screen, and a passport look-up's
e-document link, and a service guide's checklist link. Takes docs/screenshots/booking-*.png,
edocument.png and guide-checklist.png (`make screenshots`)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from widget_pages import Chat, axe_violations, small_touch_targets

TODAY = "2026-09-21"  # a Monday: the first bookable day is Tuesday 22 September
# Demo data (services/demo_records.yaml, fictional): a PR card holder's passport e-document.
PR_CARD, PASSPORT, BIRTH = "900000198501010017", "XB2468013", "1985-01-01"


@pytest.fixture(scope="module")
def booking_server(start_module_server):
    return start_module_server(CHAT_APPOINTMENTS_TODAY=TODAY)


def open_chat(page: Page, url: str) -> Chat:
    page.goto(url)
    chat = Chat(page).open()
    chat.wait_online()
    expect(page.locator("nia-chat .log > li.m-bot").first).to_be_visible()  # the greeting
    return chat


def group(page: Page, field: str):
    """The pending question's choices (only the newest reply has controls)."""
    return page.locator(f"nia-chat fieldset.choices[data-field={field}]")


def start_booking(chat: Chat, page: Page, lang: str = "en") -> None:
    chat.type_and_send("Online appointment" if lang == "en" else "网上预约")
    group(page, "service").locator("button").first.click()  # visa extension / 签证延期
    group(page, "city").locator("button", has_text="Chengdu" if lang == "en" else "成都").click()
    expect(group(page, "date")).to_be_visible(timeout=30_000)


def fill_in_and_confirm(chat: Chat, page: Page, name: str, passport: str) -> None:
    last = page.locator("nia-chat .log > li.m-bot").last
    expect(last).to_contain_text("the applicant's full name", timeout=30_000)
    chat.type_and_send(name)
    expect(last).to_contain_text("the applicant's passport number", timeout=30_000)
    chat.type_and_send(passport)
    group(page, "confirm").locator("button").click()


def test_book_an_appointment_by_clicking_and_see_the_confirmation_card(
        booking_server, context, screenshots, axe_source):
    page = context.new_page()
    chat = open_chat(page, booking_server.url + "/?lang=en")
    start_booking(chat, page)
    dates = group(page, "date")
    expect(dates.locator("legend")).to_have_text("Choose the day")
    expect(dates.locator("button").first).to_have_text("Tue 2026-09-22")
    dates.locator("button", has_text="2026-09-24").click()
    slots = group(page, "time")
    expect(slots.locator("legend")).to_have_text("Choose a time")
    first = slots.locator("button").first
    expect(first).to_have_attribute("aria-label", "09:00, 4 seats free")
    slots.locator("button[data-value='10:00']").click()
    assert chat.visitor_texts()[-1] == "10:00"  # the same text a visitor could type
    fill_in_and_confirm(chat, page, "Anna Lee", "E12345678")

    card = page.locator("nia-chat .bubble .booking")
    expect(card).to_be_visible(timeout=30_000)
    expect(card.locator("h4")).to_have_text("Appointment booked")
    reference = card.locator("dd.ref").text_content() or ""
    assert re.fullmatch(r"AP[0-9A-Z]{8}", reference), reference
    expect(card).to_contain_text("Chengdu")
    expect(card).to_contain_text("2026-09-24")
    expect(card).to_contain_text("10:00")
    expect(card).to_contain_text("Anna Lee (passport E12****78)")
    assert "E12345678" not in (card.text_content() or "")
    assert reference in (page.locator("nia-chat .log > li.m-bot").last.text_content() or "")
    assert axe_violations(page, axe_source) == []
    page.wait_for_timeout(300)  # the panel scrolls to the reply; the card is shown whole
    card.evaluate("(c) => c.scrollIntoView({block: 'end'})")
    page.screenshot(path=screenshots / "booking-en.png")


def test_the_day_and_the_time_with_the_keyboard_only(booking_server, context):
    page = context.new_page()
    chat = open_chat(page, booking_server.url + "/?lang=en")
    start_booking(chat, page)

    def tab_back_into(field: str) -> None:
        """From the message box, Shift+Tab back into the group: one stop for the whole group."""
        chat.input.focus()
        for _ in range(12):
            page.keyboard.press("Shift+Tab")
            if page.evaluate(f"""() => !!document.querySelector('nia-chat').shadowRoot
                    .activeElement?.closest('fieldset[data-field={field}]')"""):
                return
        raise AssertionError(f"Tab never reached the {field} choices")

    def focused() -> str | None:
        return page.evaluate("() => document.querySelector('nia-chat').shadowRoot"
                             ".activeElement?.dataset.value || null")

    tab_back_into("date")
    assert focused() == "2026-09-22"
    outline = page.evaluate("() => getComputedStyle(document.querySelector('nia-chat')"
                            ".shadowRoot.activeElement).outlineStyle")
    assert outline != "none"  # the focus is visible
    page.keyboard.press("ArrowRight")
    assert focused() == "2026-09-23"
    page.keyboard.press("Enter")
    expect(group(page, "time")).to_be_visible(timeout=30_000)
    assert chat.visitor_texts()[-1] == "2026-09-23"

    tab_back_into("time")
    page.keyboard.press("End")
    assert focused() == "16:30"
    page.keyboard.press("ArrowLeft")
    assert focused() == "16:00"
    page.keyboard.press("Space")
    expect(page.locator("nia-chat .log > li.m-bot").last).to_contain_text(
        "the applicant's full name", timeout=30_000)
    assert chat.visitor_texts()[-1] == "16:00"


def test_the_date_picker_refuses_a_holiday_and_takes_an_adjusted_working_day(
        booking_server, context):
    page = context.new_page()
    chat = open_chat(page, booking_server.url + "/?lang=zh")
    start_booking(chat, page, lang="zh")
    picker = page.locator("nia-chat .datepick input[type=date]")
    expect(picker).to_have_attribute("min", "2026-09-22")
    expect(picker).to_have_attribute("max", "2026-10-21")  # 30 days ahead
    expect(page.locator("nia-chat .datepick label")).to_have_text("其他日期")
    picker.fill("2026-10-01")  # National Day
    page.locator("nia-chat .datepick button").click()
    expect(picker).to_have_attribute("aria-invalid", "true")
    expect(page.locator("nia-chat .datepick .err")).to_have_text(
        "2026-10-01不可预约，请选择可预约的工作日。")
    assert "2026-10-01" not in chat.visitor_texts()  # nothing was sent
    picker.fill("2026-10-10")  # a Saturday made a working day
    picker.press("Enter")
    expect(group(page, "time")).to_be_visible(timeout=30_000)
    expect(group(page, "time").locator("legend")).to_have_text("请选择时段")
    assert chat.visitor_texts()[-1] == "2026-10-10"


def test_a_phone_books_without_horizontal_scrolling(booking_server, phone_context, screenshots,
                                                    axe_source):
    page = phone_context.new_page()
    chat = open_chat(page, booking_server.url + "/m?lang=en")

    def fits() -> None:
        box = page.evaluate("""() => {
            const root = document.querySelector('nia-chat').shadowRoot;
            const log = root.querySelector('.log');
            const controls = [...root.querySelectorAll('.choices button, .datepick input, .booking')]
                .map((e) => e.getBoundingClientRect()).filter((r) => r.width > 0);
            return {page: document.documentElement.scrollWidth, log: [log.scrollWidth, log.clientWidth],
                    right: Math.max(0, ...controls.map((r) => r.right)),
                    left: Math.min(360, ...controls.map((r) => r.left))};
        }""")
        assert box["page"] <= 360 and box["log"][0] <= box["log"][1], box
        assert box["left"] >= 0 and box["right"] <= 360, box

    start_booking(chat, page)
    fits()
    expect(page.locator("nia-chat .datepick input")).to_be_visible()
    group(page, "date").locator("button").first.tap()
    slots = group(page, "time")
    expect(slots).to_be_visible(timeout=30_000)
    fits()
    slots.evaluate("(g) => g.scrollIntoView({block: 'end'})")
    page.screenshot(path=screenshots / "booking-slots-phone.png")
    last = slots.locator("button").last
    last.scroll_into_view_if_needed()
    expect(last).to_be_in_viewport()
    assert small_touch_targets(page) == []
    last.tap()
    fill_in_and_confirm(chat, page, "Li Wei", "G87654321")
    expect(page.locator("nia-chat .bubble .booking")).to_be_visible(timeout=30_000)
    fits()
    page.wait_for_timeout(300)
    page.locator("nia-chat .bubble .booking").evaluate("(c) => c.scrollIntoView({block: 'end'})")
    assert axe_violations(page, axe_source) == []
    page.screenshot(path=screenshots / "booking-phone.png")


def test_a_passport_look_up_offers_the_e_document_download(booking_server, context, screenshots,
                                                           tmp_path: Path):
    page = context.new_page()
    chat = open_chat(page, booking_server.url + "/?lang=en")
    chat.type_and_send("PR holder passport info")
    expect(page.locator("nia-chat .log > li.m-bot").last).to_contain_text("permanent resident ID card number",
                                                                           timeout=30_000)
    chat.type_and_send(f"{PR_CARD} {PASSPORT} {BIRTH}")
    box = page.locator("nia-chat .bubble .edoc")
    expect(box).to_be_visible(timeout=60_000)
    link = box.locator("a.btn")
    expect(link).to_have_text("Download the e-document (PDF)")
    href = link.get_attribute("href") or ""
    assert href.startswith(booking_server.url + "/documents/"), href
    expect(box.locator("a", has_text="Verify it online")).to_have_attribute(
        "href", re.compile(re.escape(booking_server.url) + "/verify/[A-Z0-9]+$"))
    code = box.locator("strong").text_content()
    assert code and code in (box.locator("a", has_text="Verify").get_attribute("href") or "")
    pdf = page.request.get(href)
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    (tmp_path / "e.pdf").write_bytes(pdf.body())
    # The e-document's first page as the README shows it.
    subprocess.run(["pdftoppm", "-png", "-r", "72", "-f", "1", "-l", "1", "-singlefile",
                    str(tmp_path / "e.pdf"), str(screenshots / "edocument")], check=True)
    assert (screenshots / "edocument.png").stat().st_size > 10_000


def test_labels_follow_the_replys_script_and_only_http_links_are_drawn(context, site):
    """Scripted frames (no server): a Traditional Chinese question and booking, and an
    e-document whose addresses are not http(s)."""
    from test_widget_scripted import push, scripted

    page, chat = scripted(context, site, "zh")
    quick = [{"label": t, "value": t} for t in ("09:00", "09:30", "取消", "轉人工客服")]
    push(page, {"type": "reply", "seq": 2, "from": "bot", "lang": "zh", "script": "zh-Hant",
                "text": "成都還有這些時段可約，請選擇：", "quick_replies": quick,
                "meta": {"kind": "appointment_ask", "field": "time", "date": "2026-09-22",
                         "slots": [{"time": "09:00", "free": 4}, {"time": "09:30", "free": 1}]}})
    slots = group(page, "time")
    expect(slots.locator("legend")).to_have_text("請選擇時段")
    expect(slots.locator("button").nth(1)).to_have_attribute("aria-label", "09:30，剩餘 1 個名額")
    expect(page.locator("nia-chat .qr button")).to_have_text(["取消", "轉人工客服"])
    booking = {"reference": "AP12345678", "status": "booked", "office_id": "x",
               "office_name": {"zh": "成都市公安局出入境管理局", "en": "Chengdu"},
               "service": "visa_extension", "date": "2026-09-22", "time": "09:30",
               "applicant_name": "王小明", "passport_masked": "G12***67"}
    push(page, {"type": "reply", "seq": 3, "from": "bot", "lang": "zh", "script": "zh-Hant",
                "text": "預約成功！", "meta": {"kind": "appointment_booked", "booking": booking}})
    card = page.locator("nia-chat .booking")
    expect(card.locator("h4")).to_have_text("預約成功")
    expect(card).to_contain_text("申請人王小明（護照 G12***67）")
    expect(group(page, "time")).to_have_count(0)  # a newer reply: the choices are gone
    push(page, {"type": "reply", "seq": 4, "from": "bot", "lang": "en", "script": "en",
                "text": "Your e-document", "meta": {"kind": "lookup_result",
                                                    "download": "javascript:alert(1)",
                                                    "verify": "javascript:alert(2)"}})
    expect(page.locator("nia-chat .log > li[data-seq='4']")).to_be_visible()
    assert page.locator("nia-chat .edoc").count() == 0
    assert chat.visitor_texts() == []


def test_a_service_guide_picked_by_keyboard_offers_its_checklist(booking_server, context, screenshots,
                                                                tmp_path: Path):
    page = context.new_page()
    chat = open_chat(page, booking_server.url + "/?lang=en")
    chat.type_and_send("Service guides")
    work = group(page, "guide").locator("button", has_text="Work-type residence permit")
    expect(work).to_be_visible(timeout=30_000)
    work.focus()
    page.keyboard.press("Enter")
    box = page.locator("nia-chat .bubble .edoc")
    expect(box).to_be_visible(timeout=60_000)
    expect(box.locator("h4")).to_have_text("Checklist")
    link = box.locator("a.btn")
    expect(link).to_have_text("Download the checklist (PDF)")
    href = link.get_attribute("href") or ""
    assert href.startswith(booking_server.url + "/guides/"), href
    expect(page.locator("nia-chat .log > li.m-bot").last).to_contain_text("☐ work permit")
    pdf = page.request.get(href)
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    (tmp_path / "guide.pdf").write_bytes(pdf.body())
    # The checklist's first page as the README shows it.
    subprocess.run(["pdftoppm", "-png", "-r", "72", "-f", "1", "-l", "1", "-singlefile",
                    str(tmp_path / "guide.pdf"), str(screenshots / "guide-checklist")], check=True)
    assert (screenshots / "guide-checklist.png").stat().st_size > 10_000


def test_a_guide_link_is_labelled_in_traditional_and_only_http_is_drawn(context, site):
    from test_widget_scripted import push, scripted

    page, _ = scripted(context, site, "zh")
    push(page, {"type": "reply", "seq": 2, "from": "bot", "lang": "zh", "script": "zh-Hant",
                "text": "工作類居留證件", "meta": {"kind": "guide", "guide": "residence-permit-work",
                                               "download": "https://example.org/guides/abc"}})
    expect(page.locator("nia-chat .edoc a.btn")).to_have_text("下載材料清單（PDF）")
    push(page, {"type": "reply", "seq": 3, "from": "bot", "lang": "en", "script": "en",
                "text": "Checklist", "meta": {"kind": "guide", "download": "javascript:alert(1)"}})
    expect(page.locator("nia-chat .log > li[data-seq='3']")).to_be_visible()
    assert page.locator("nia-chat .edoc").count() == 1


def test_a_phone_gives_the_date_of_birth_in_the_date_field(booking_server, phone_context, axe_source):
    """The look-up's "date of birth?" as a date field on a 360×640 phone, by keyboard: a future
    day is refused before anything is sent, a real one sends its ISO date and gets the record."""
    page = phone_context.new_page()
    chat = open_chat(page, booking_server.url + "/m?lang=en")
    chat.type_and_send("PR holder passport info")
    expect(page.locator("nia-chat .log > li.m-bot").last).to_contain_text("permanent resident ID card number",
                                                                           timeout=30_000)
    chat.type_and_send(f"{PR_CARD} {PASSPORT}")
    field = page.locator("nia-chat .datepick.birth input")
    expect(field).to_be_visible(timeout=30_000)
    expect(page.locator("nia-chat .datepick.birth label")).to_have_text("Date of birth")
    box = page.evaluate("""() => {
        const root = document.querySelector('nia-chat').shadowRoot;
        const r = root.querySelector('.datepick.birth').getBoundingClientRect();
        return {page: document.documentElement.scrollWidth, left: r.left, right: r.right};
    }""")
    assert box["page"] <= 360 and box["left"] >= 0 and box["right"] <= 360, box
    assert small_touch_targets(page) == []
    assert axe_violations(page, axe_source) == []
    field.fill("2999-01-01")
    field.focus()
    page.keyboard.press("Enter")
    expect(page.locator("nia-chat .datepick.birth .err")).to_contain_text("not a possible date of birth")
    assert chat.visitor_texts()[-1] != "2999-01-01"
    field.fill(BIRTH)
    page.keyboard.press("Enter")
    expect(page.locator("nia-chat .bubble .edoc")).to_be_visible(timeout=60_000)
    assert chat.visitor_texts()[-1] == BIRTH
