"""Other offices' errands, matters of ours named, and follow-ups (issue 11), over a real server
and websocket as a visitor meets them: bookings made for the visitor (a ticket, a rebooked
flight), vehicles, housing, animals' quarantine and a business recommended are declined, even
after an immigration answer; a lost passport or a Hong Kong permit named is answered whatever
NLU's unsure out-of-scope reading; a follow-up opened by "ok," or "好的，" keeps the thread, while
NLU's sure out-of-scope reading of a longer one that names its own matter still declines it; a
follow-up naming no paper or procedure leans on the topic however long it is."""

import pytest

from bot.errands import runs_errand, speaks_of_our_matter
from bot.handoff_cues import asks_for_person, files_complaint_about_us
from runtime.language_id import script_undecided
from tests.bot.conversations import converse


@pytest.mark.parametrize(("text", "errand"), [
    ("能帮我订两张明天去杭州的动车票吗？", True),
    ("I need to rebook my flight home, who do I call?", True),
    ("How do I register a car I bought in Beijing?", True),
    ("车管所周末上班吗", True),
    ("外国人可以提取住房公积金吗？", True),
    ("Can a foreigner buy an apartment in Shenzhen?", True),
    ("我想带我的猫去上海，要检疫多久？", True),
    ("Which bank in Chengdu is best for foreigners?", True),
    ("手机号过户要带什么证件？", True),
    ("我想用护照开户，边间银行最方便？", True),  # a recommendation, whatever card it is used with
    ("永居证可以当身份证用来开银行账户吗？", False),  # the PR card as ID: ours
    ("香港旅行社组的团入境海南可以免签吗？", False),  # a tour group's visa-free entry: ours
])
def test_other_offices_errands(text: str, errand: bool) -> None:
    assert runs_errand(text) is errand


@pytest.mark.parametrize(("text", "ours"), [
    ("我本護照喺深圳唔見咗，報咗警之後仲要去邊度？", True),
    ("my son's passport has expired while we're in Xi'an", True),
    ("Can non-Chinese residents of Hong Kong get a Hong Kong permit for the mainland?", True),
    ("如果我超咗期兩日會點？", True),
    ("我朋友住喺我度，要唔要去派出所登記？", True),
    ("I have a 10-hour layover in Chengdu, can I go into town?", True),
    ("小区门禁卡丢了，物业说要带护照去补", False),  # the passport is brought, the card is lost
    ("我的护照丢了，银行卡也一起丢了，怎么挂失银行卡？", False),  # the errand asked
])
def test_matters_of_ours_named(text: str, ours: bool) -> None:
    assert speaks_of_our_matter(text) is ours


@pytest.mark.parametrize(("text", "complaint"), [
    ("I want to file a complaint about the border officer at Luohu", True),
    ("这个机器人一点用都没有，我要投诉", True),
    ("我要投訴出入境大廳嘅職員", True),
    ("我要投诉酒店前台", False),  # the hotel's, for 12345
    ("the queue at the office was long", False),  # displeasure, no complaint filed
])
def test_complaints_about_us_in_so_many_words(text: str, complaint: bool) -> None:
    assert files_complaint_about_us(text) is complaint


@pytest.mark.parametrize(("text", "person"), [
    ("你哋可唔可以幫我搵個人傾？", True),
    ("银行要证明永居证和护照是同一个人，要我帮忙吗", False),  # the same person, no one to talk to
])
def test_a_person_asked_for_not_a_person_mentioned(text: str, person: bool) -> None:
    assert asks_for_person(text) is person


def test_hong_kong_characters_do_not_count_as_simplified() -> None:
    assert not script_undecided("台胞證")  # 台 is Hong Kong's Traditional too
    assert script_undecided("多謝晒")


@pytest.fixture(scope="module")
def shared_server(start_module_server):
    """The module's server, with an IP allowance for its several chats from one address."""
    return start_module_server(CHAT_IP_RATE="1000", CHAT_IP_BURST="1000")


async def test_a_lost_passport_named_is_answered_whatever_nlu_read(shared_server, ws_client):
    lost, = await converse(ws_client, shared_server.ws_url, "我本護照喺深圳唔見咗，報咗警之後仲要去邊度？",
                           page_lang="zh")
    assert lost["meta"]["kind"] == "answer", lost


async def test_a_stolen_passport_told_at_length_is_answered(shared_server, ws_client):
    # NLU is sure this is out of scope (0.97): a passport taken is ours whatever it read.
    stolen, = await converse(ws_client, shared_server.ws_url,
                             "A pickpocket took my wallet and my passport on the metro in Shanghai "
                             "this morning. Tell me what I should do now.")
    assert stolen["meta"]["kind"] == "answer", stolen


async def test_a_follow_up_opened_by_an_acknowledgement_keeps_the_thread(shared_server, ws_client):
    stay, onward = await converse(
        ws_client, shared_server.ws_url,
        "I'm Canadian flying Vancouver - Shanghai - Seoul, can I stay in Shanghai a week visa-free?",
        "ok, and would Singapore as the next stop work as well?")
    assert stay["meta"]["kind"] == "answer", stay
    assert onward["meta"]["kind"] == "answer", onward


async def test_an_acknowledged_question_of_its_own_is_still_declined(shared_server, ws_client):
    stay, weather = await converse(ws_client, shared_server.ws_url,
                                   "how long can Germans stay in China without a visa?",
                                   "ok, and what's the weather going to be in Shanghai tomorrow?")
    assert stay["meta"]["kind"] == "answer", stay
    assert weather["meta"]["kind"] == "decline", weather


async def test_a_ticket_booked_after_an_answer_is_declined(shared_server, ws_client):
    transit, ticket = await converse(ws_client, shared_server.ws_url,
                                     "240小时过境免签可以从广州入境吗？", "那顺便帮我订一张去深圳的高铁票吧",
                                     page_lang="zh")
    assert transit["meta"]["kind"] == "answer", transit
    assert ticket["meta"]["kind"] == "decline", ticket


async def test_a_follow_up_naming_no_matter_leans_on_the_topic(shared_server, ws_client):
    work, fine = await converse(
        ws_client, shared_server.ws_url,
        "My company wants to take on a foreign student as an intern, she only has a study visa. "
        "Can she work for us?",
        "How much would we be fined if we let her start anyway?")
    assert work["meta"]["kind"] == "answer", work
    assert fine["meta"]["kind"] == "answer", fine
    assert fine["meta"]["entry"] == "illegal-employment-penalties-employer", fine


async def test_a_complaint_about_border_officers_reaches_a_person(shared_server, ws_client):
    complaint, = await converse(ws_client, shared_server.ws_url, "我要投訴羅湖口岸嘅邊檢人員態度差",
                                page_lang="zh")
    assert complaint["meta"]["kind"] in ("ask_option", "handoff"), complaint  # on the way to a person


async def test_code_mixed_traditional_is_answered_in_traditional(shared_server, ws_client):
    fee, = await converse(ws_client, shared_server.ws_url, "台胞證五年的fee是多少？", page_lang="zh")
    assert fee["meta"]["kind"] == "answer", fee
    assert fee["script"] == "zh-Hant", fee
