"""Each online service asked for in words of the visitor's own, in Simplified and Traditional
Chinese, Cantonese and English, over real websockets to a real server (calendar from Monday
21 September 2026): the form that starts and the fields the message filled (dates, times,
cities, application and passport numbers, relationships). The phrasings are written for this
table, not taken from nlu_data/. Three or more per service and per script."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import pytest

TODAY = "2026-09-21"  # a Monday: "next Tuesday" is 2026-09-29
NUMBER, PASSPORT, PR_CARD = "A202603020017", "XA1234567", "900000198501010017"  # demo data
LOOKUP = ("service_progress", "service_visa_info", "service_pr_card_info", "service_passport_info")
OFFICE_KINDS = ("office", "office_list")
MOTHER = {"zh-Hans": "母亲", "zh-Hant": "母親", "yue": "母親", "en": "mother"}


@dataclass(frozen=True)
class Case:
    service: str
    script: str
    text: str
    filled: dict[str, str] = field(default_factory=dict)  # field → what the reply must show


def cases(service: str, script: str, *rows: str | tuple[str, dict[str, str]]) -> list[Case]:
    return [Case(service, script, *(r if isinstance(r, tuple) else (r,))) for r in rows]


APPOINTMENT = [
    *cases("service_appointment", "zh-Hans",
           ("我想预约下周二在成都办签证延期", {"date": "2026-09-29", "city": "成都"}),
           ("帮我约个号，9月24日去成都出入境办居留许可", {"date": "2026-09-24", "city": "成都"}),
           ("预约签证换发，成都，9月23号", {"date": "2026-09-23", "city": "成都"})),
    *cases("service_appointment", "zh-Hant",
           ("我想預約下週二在成都辦理簽證延期", {"date": "2026-09-29", "city": "成都"}),
           ("請幫我預約9月24日在成都辦居留許可", {"date": "2026-09-24", "city": "成都"}),
           ("預約簽證換發，成都，9月23號", {"date": "2026-09-23", "city": "成都"})),
    *cases("service_appointment", "yue",
           ("我想約下個禮拜二喺成都續簽證", {"date": "2026-09-29", "city": "成都"}),
           ("幫我約9月24號去成都整居留許可", {"date": "2026-09-24", "city": "成都"}),
           ("我要預約喺成都換簽證，9月23號", {"date": "2026-09-23", "city": "成都"})),
    # A time too: the slot is taken, the applicant's name is asked next.
    *cases("service_appointment", "zh-Hans",
           ("我想预约9月23日上午10点在成都办签证延期", {"date": "2026-09-23", "time": "10:00"})),
    *cases("service_appointment", "zh-Hant",
           ("我想預約9月23日上午10點在成都辦簽證延期", {"date": "2026-09-23", "time": "10:00"})),
    *cases("service_appointment", "yue",
           ("我想約9月23號朝早10點喺成都續簽證", {"date": "2026-09-23", "time": "10:00"})),
    *cases("service_appointment", "en",
           ("I want to book a visa extension in Chengdu on 23 September at 10:00",
            {"date": "2026-09-23", "time": "10:00"})),
    *cases("service_appointment", "en",
           ("Book me an appointment to extend my visa in Chengdu next Tuesday",
            {"date": "2026-09-29", "city": "Chengdu"}),
           ("I'd like to make an appointment for a residence permit in Chengdu on 24 September",
            {"date": "2026-09-24", "city": "Chengdu"}),
           ("Schedule a visa renewal appointment in Chengdu on September 23",
            {"date": "2026-09-23", "city": "Chengdu"})),
]

LOOKUPS = [
    *cases("service_progress", "zh-Hans", ("查询我的申请进度，受理号A202603020017", {"number": NUMBER}),
           "帮我查一下我的办证进度", ("我想查查申请办到哪了，护照XA1234567", {"passport": PASSPORT})),
    *cases("service_progress", "zh-Hant", ("查詢我的申請進度 A202603020017", {"number": NUMBER}),
           "幫我查一下我的辦證進度", ("我想查看申請進度，護照號碼XA1234567", {"passport": PASSPORT})),
    *cases("service_progress", "yue", "幫我查下我份申請辦到邊",
           ("我想查下我嘅申請進度 A202603020017", {"number": NUMBER}),
           ("查下我申請嘅進度，護照係XA1234567", {"passport": PASSPORT})),
    *cases("service_progress", "en",
           ("Check the progress of my application A202603020017", {"number": NUMBER}),
           "Can you track my application status?",
           ("I want to check my application progress, passport XA1234567", {"passport": PASSPORT})),
    *cases("service_visa_info", "zh-Hans", "麻烦帮我查询我现在的签证", "帮我查一下我的居留许可",
           ("查看我的签证，护照号XA1234567", {"passport": PASSPORT})),
    *cases("service_visa_info", "zh-Hant", "查詢我的簽證資料", "幫我查一下我的居留許可",
           ("查看我的簽證，護照號XA1234567", {"passport": PASSPORT})),
    *cases("service_visa_info", "yue", "我想查下我嘅簽證", "幫我查吓我個居留許可",
           ("查下我嘅簽證，護照XA1234567", {"passport": PASSPORT})),
    *cases("service_visa_info", "en", "Please look up my current visa", "Please check my residence permit",
           ("Check my visa, passport number XA1234567", {"passport": PASSPORT})),
    *cases("service_pr_card_info", "zh-Hans", "查询我的永居证信息", "帮我查一下我的永久居留身份证",
           ("查看我的永居身份证 900000198501010017", {"number": PR_CARD})),
    *cases("service_pr_card_info", "zh-Hant", "查詢我的永居證資料", "幫我查一下我的永久居留身份證",
           ("查看我的永居證 900000198501010017", {"number": PR_CARD})),
    *cases("service_pr_card_info", "yue", "我想查下我張永居證", "幫我查吓我嘅永久居留身份證",
           ("查下我嘅永居證 900000198501010017", {"number": PR_CARD})),
    *cases("service_pr_card_info", "en", "I'd like to check my PR card record",
           "Look up the details of my permanent resident ID card",
           ("check my permanent resident card 900000198501010017", {"number": PR_CARD})),
    *cases("service_passport_info", "zh-Hans", "下载我的护照电子文书", "帮我查询一下我登记的护照信息",
           "帮我开具护照信息电子文书"),
    *cases("service_passport_info", "zh-Hant", "下載我的護照電子文書", "查詢我的護照資料",
           "幫我開具護照資料電子文書"),
    *cases("service_passport_info", "yue", "我想下載我本護照嘅電子文書", "幫我查下我嘅護照資料",
           "幫我攞我護照資料嘅電子文書"),
    *cases("service_passport_info", "en", "Download my passport e-document",
           "please check my passport info on file", "I need the e-document for my passport details"),
]

OFFICES = [
    *cases("service_office_directory", "zh-Hans", ("成都的出入境办证大厅在哪里", {"city": "成都"}),
           ("广州出入境管理局的地址", {"city": "广州"}), ("上海出入境接待大厅电话是多少", {"city": "上海"})),
    *cases("service_office_directory", "zh-Hant", ("成都的出入境辦證大廳在哪裡", {"city": "成都"}),
           ("廣州出入境管理局的地址", {"city": "廣州"}), ("上海出入境接待大廳電話是多少", {"city": "上海"})),
    *cases("service_office_directory", "yue", ("成都出入境喺邊度", {"city": "成都"}),
           ("廣州出入境處地址係咩", {"city": "廣州"}), ("上海出入境辦證大廳幾點開門", {"city": "上海"})),
    *cases("service_office_directory", "en",
           ("Where is the exit-entry office in Chengdu?", {"city": "Chengdu"}),
           ("address of the immigration office in Guangzhou", {"city": "Guangzhou"}),
           ("opening hours of the Shanghai exit-entry bureau", {"city": "Shanghai"})),
]

GUIDES = [
    *cases("service_guidance", "zh-Hans", "给我一份办事指南", "我想看看各项业务的办事指南", "有没有办理须知可以下载"),
    *cases("service_guidance", "zh-Hant", "給我一份辦事指南", "我想看看各項業務的辦事指南", "有沒有辦理須知可以下載"),
    *cases("service_guidance", "yue", "我想睇下辦事指南", "有冇辦事指南可以下載", "俾份辦事指南我睇下"),
    *cases("service_guidance", "en", "Service guides", "Show me the service guides",
           "Do you have a checklist of documents I can download?"),
]

ASSISTED = [
    *cases("service_assisted_application", "zh-Hans", "帮我妈妈查一下签证进度",
           "查询我母亲的居留许可", "我替我妈查下她的申请办到哪了"),
    *cases("service_assisted_application", "zh-Hant", "幫我媽媽查一下簽證進度",
           "查詢我母親的居留許可", "我替我媽查下她的申請辦到哪了"),
    *cases("service_assisted_application", "yue", "幫我阿媽查下佢個簽證", "我想幫我阿媽查下申請進度",
           "查下我阿媽嘅居留許可"),
    *cases("service_assisted_application", "en", "Check my mother's visa",
           "Can you check the application progress for my mother?",
           "I want to look up my mum's residence permit"),
]


@pytest.fixture(scope="module")
def services_server(start_module_server):
    return start_module_server(CHAT_APPOINTMENTS_TODAY=TODAY, CHAT_IP_RATE="1000", CHAT_IP_BURST="1000")


def hello_lang(script: str) -> str:
    return "en" if script == "en" else "zh"


def ids(case: Case) -> str:
    return f"{case.service.removeprefix('service_')}-{case.script}-{case.text[:24]}"


async def replies_to(services_server, ws_client, case: Case) -> list[dict]:
    """The bot's replies to the case's message, in a fresh conversation on the page of its
    language: a typed question the corpus answers gets that answer first, then the form."""
    async with ws_client(services_server.ws_url) as c:
        await c.hello(page_lang=hello_lang(case.script))
        replies = [await c.ask(case.text, "q1")]
        with contextlib.suppress(TimeoutError):  # the turn's replies come together
            while True:
                frame = await c.recv(timeout=0.5)
                if frame["type"] == "reply":
                    replies.append(frame)
        return replies


def read_as(replies: list[dict]) -> str | None:
    """The intent the NLU gave the message (the turn's meta, on the wire)."""
    return next((r["meta"]["intent"] for r in replies if r["meta"].get("intent")), None)


def the(kinds: tuple[str, ...], replies: list[dict]) -> dict:
    """The reply of one of ``kinds`` (the form's), failing with what came instead."""
    found = [r for r in replies if r["meta"].get("kind") in kinds]
    assert found, [(r["meta"].get("kind"), r["meta"].get("intent"), r["text"][:60]) for r in replies]
    return found[-1]


@pytest.mark.parametrize("case", APPOINTMENT, ids=ids)
async def test_an_appointment_asked_for_opens_the_booking_with_what_it_said(
        services_server, ws_client, case):
    replies = await replies_to(services_server, ws_client, case)
    reply = the(("appointment_ask",), replies)
    assert read_as(replies) == case.service, replies[0]["meta"]
    if "time" in case.filled:  # the whole slot was said (a free one): the applicant is asked
        assert reply["meta"]["field"] == "name", reply
        return
    # Service, city (Chengdu has one office) and date were in the message: the slots are asked.
    assert reply["meta"]["field"] == "time", reply
    assert reply["meta"]["date"] == case.filled["date"] and case.filled["city"] in reply["text"]


@pytest.mark.parametrize("case", LOOKUPS, ids=ids)
async def test_a_look_up_asked_for_opens_its_form_with_the_numbers_it_gave(
        services_server, ws_client, case):
    replies = await replies_to(services_server, ws_client, case)
    reply = the(("lookup_form",), replies)
    assert reply["meta"]["service"] == case.service, reply
    assert read_as(replies) == case.service, replies[0]["meta"]
    for name in case.filled:  # given: not asked for
        assert reply["meta"]["field"] != name, reply
    if case.filled:
        assert any(word in reply["text"] for word in ("Noted", "已记下", "已記下")), reply


@pytest.mark.parametrize("case", OFFICES, ids=ids)
async def test_an_office_asked_for_shows_the_citys_offices(services_server, ws_client, case):
    replies = await replies_to(services_server, ws_client, case)
    reply = the(OFFICE_KINDS, replies)
    assert read_as(replies) == case.service, replies[0]["meta"]
    assert reply["meta"]["offices"], reply
    assert case.filled["city"] in reply["text"], reply


@pytest.mark.parametrize("case", GUIDES, ids=ids)
async def test_the_service_guides_asked_for_offer_their_checklists(services_server, ws_client,
                                                                   case):
    replies = await replies_to(services_server, ws_client, case)
    reply = the(("guide_pick", "guide"), replies)
    assert read_as(replies) == case.service, replies[0]["meta"]
    assert reply["quick_replies"], reply


@pytest.mark.parametrize("case", ASSISTED, ids=ids)
async def test_a_look_up_for_a_family_member_names_them(services_server, ws_client, case):
    replies = await replies_to(services_server, ws_client, case)
    reply = the(("lookup_form",), replies)
    # Read as acting for someone, or as the look-up it is: either way the form is the same.
    assert read_as(replies) in (case.service, reply["meta"]["service"]), replies[0]["meta"]
    assert MOTHER[case.script] in reply["text"], reply
