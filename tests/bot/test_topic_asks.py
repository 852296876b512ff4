"""Follow-ups that ask one particular of the topic just answered (bot/topic_asks.py), over a real
server and websocket as a visitor meets them: a longer stay than the answer allowed, how long the
procedure takes, the office's hours or phone after its address, where to apply after a fee; a stay
past visa-free entry asked first; a city named without its office; and code-mixed Cantonese answered
in the language of its grammar (issue 11)."""

import pytest

from bot.topic_asks import (
    asks_within,
    states_a_deadline,
    states_a_fine,
    states_its_fee,
    states_its_time,
    topic_ask,
    wants_past_visa_free,
)
from runtime.language_id import grammar_is_english
from tests.bot.conversations import converse


@pytest.mark.parametrize(("text", "ask"), [
    ("what if I'd like to stay six weeks?", "stay_longer"),
    ("如果想留兩個月呢？", "stay_longer"),
    ("如果我想stay 3个月呢？", "stay_longer"),
    ("大概要等多久？", "time"),
    ("how long does it take to get it?", "time"),
    ("processing要幾耐？", "time"),
    ("and their phone number?", "contact"),
    ("周六开门吗？", "contact"),
    ("where do I go for that?", "where"),
    ("喺邊度辦？", "where"),
    ("去哪里办？", "where"),
    ("要提前几天申请？", "when"),
    ("how many days before it expires should I apply?", "when"),
    ("fee多少？", "fee"),
    ("会罚多少钱？", "penalty"),  # a fine, though it names money too
    ("and what's the fine?", "penalty"),
    ("要几天之内办好？", "time"),
    ("要幾多錢？", "fee"),
    # Not these: the longest allowed, a yearly minimum, the hotline named, a question of its own.
    ("how long can they give me?", None),
    ("每年要住多久？", None),
    ("12367电话几点有人接？", None),
    ("where is the Shanghai exit-entry bureau?", None),  # a look-up of its own
    ("what should I do before I leave?", None),  # no application in it
    ("I have been living in Shanghai for three years on a work permit and now my employer wants "
     "to know how long the permanent residence application takes", None),
])
def test_which_particular_a_follow_up_asks(text: str, ask: str | None) -> None:
    assert topic_ask(text) == ask


@pytest.mark.parametrize(("text", "wants"), [
    ("I entered visa-free three weeks ago and want to stay another month, can I extend?", True),
    ("我免签入境的，想再多留一个月，可以延长吗？", True),
    ("单方面免签政策延长到什么时候？", False),  # the policy's end date: nobody's stay
    ("免簽入境，已經overstay咗兩日，會點罰？", False),  # past it already: the penalties
    ("I'm French, how long can I stay visa-free?", False),
])
def test_a_first_question_that_wants_to_stay_past_visa_free_entry(text: str, wants: bool) -> None:
    assert wants_past_visa_free(text) is wants


@pytest.fixture(scope="module")
def shared_server(start_module_server):
    """The module's server, with an IP allowance for its many chats from one address in a few
    seconds (the default's burst is spent, and a hello then waits past the client's timeout)."""
    return start_module_server(CHAT_IP_RATE="1000", CHAT_IP_BURST="1000")


async def test_a_longer_stay_than_visa_free_entry_allows_is_the_stay_permit(
        shared_server, ws_client):
    limit, longer, where = await converse(
        ws_client, shared_server.ws_url,
        "I hold a Dutch passport, how many days can I spend in China without a visa?",
        "what if I'd like to stay six weeks?", "where do I apply for that?")
    assert limit["meta"]["kind"] == "answer" and "30" in limit["text"], limit
    # The answer that gave the 30 days is not shown again: staying past them is the stay permit.
    assert longer["meta"]["kind"] == "answer" and longer["meta"]["entry"] != limit["meta"]["entry"]
    assert "stay permit" in longer["text"].lower(), longer
    # The next follow-up leans on the stay permit, not on visa-free entry again.
    assert where["meta"]["kind"] == "answer" and "exit-entry" in where["text"].lower(), where
    assert where["meta"]["entry"] != limit["meta"]["entry"], where


async def test_extending_a_visa_free_stay_is_the_stay_permit_not_a_visa_extension(
        shared_server, ws_client):
    reply, = await converse(ws_client, shared_server.ws_url,
                         "I entered visa-free three weeks ago and want to stay another month, "
                         "can I extend?")
    assert reply["meta"]["kind"] == "answer" and reply["meta"]["entry"] == "stay-permit", reply


async def test_a_longer_stay_asked_in_cantonese_is_answered_in_traditional(
        shared_server, ws_client):
    limit, longer = await converse(ws_client, shared_server.ws_url,
                                "我係韓國人，免簽可以留幾耐？", "如果想留兩個月呢？", page_lang="zh")
    assert limit["meta"]["kind"] == "answer", limit
    assert longer["meta"]["kind"] == "answer" and "停留證" in longer["text"], longer
    assert longer["script"] == "yue", longer  # Traditional, in Hong Kong characters


async def test_how_long_it_takes_is_the_topics_own_processing_time(shared_server, ws_client):
    extension, wait = await converse(ws_client, shared_server.ws_url,
                                  "我的签证还有十天到期，在哪里办延期？", "大概要等多久？", page_lang="zh")
    assert extension["meta"]["kind"] == "answer", extension
    # A visa extension's processing time (7 working days), not a residence permit's.
    assert wait["meta"]["kind"] == "answer" and "7个工作日" in wait["text"], wait
    conditions, decision = await converse(ws_client, shared_server.ws_url,
                                       "外籍丈夫想申请永久居留，需要满足什么条件？", "多久能有结果？",
                                       page_lang="zh")
    assert conditions["meta"]["kind"] == "answer", conditions
    assert decision["meta"]["kind"] == "answer" and "6个月" in decision["text"], decision


async def test_an_offices_hours_and_phone_asked_after_its_address_are_that_office(
        shared_server, ws_client):
    address, phone = await converse(ws_client, shared_server.ws_url,
                                 "Where is the Chengdu exit-entry administration?",
                                 "and their phone number?")
    assert address["meta"]["entry"] == "office-chengdu", address
    assert phone["meta"]["kind"] == "answer" and "86407067" in phone["text"], phone
    address, hours = await converse(ws_client, shared_server.ws_url,
                                 "上海出入境管理局地址在哪？", "周六开门吗？", page_lang="zh")
    # Not declined as out of scope, and not the 12367 hotline's hours: the office, which says
    # where its hours are published.
    assert hours["meta"]["kind"] == "answer", hours
    assert hours["meta"]["entry"] == address["meta"]["entry"] == "office-shanghai", hours


async def test_a_question_that_only_names_a_city_is_not_answered_with_its_office(
        shared_server, ws_client):
    trip, = await converse(ws_client, shared_server.ws_url,
                        "I'm Dutch, do I need a visa for ten days in Chengdu?")
    assert trip["meta"]["kind"] == "answer" and trip["meta"]["entry"] != "office-chengdu", trip
    assert "30" in trip["text"], trip  # visa-free entry's days
    office, = await converse(ws_client, shared_server.ws_url, "Chengdu exit-entry office address?")
    assert office["meta"]["entry"] == "office-chengdu", office


async def test_code_mixed_cantonese_is_answered_in_the_language_of_its_grammar(
        shared_server, ws_client):
    english, transit = await converse(ws_client, shared_server.ws_url,
                                   "How long does the 居留許可 take to process? 我交咗材料一個禮拜喇",
                                   "transit 上海 8 hours, 不出机场, need visa?", page_lang="zh")
    assert english["lang"] == "en" and english["meta"]["kind"] == "answer", english
    # As many English as Chinese function words: the language it ends in, where it asks.
    assert transit["lang"] == "en" and transit["meta"]["entry"] == "transit-24h-direct", transit
    cantonese, = await converse(ws_client, shared_server.ws_url, "my landlord 唔肯退 deposit 點算")
    assert cantonese["lang"] == "zh" and cantonese["script"] in ("zh-Hant", "yue"), cantonese
    assert cantonese["meta"]["kind"] == "decline", cantonese


@pytest.mark.parametrize(("details", "states"), [
    ("办理时间：深圳自2025年1月1日起力争30分钟内办结。", True),
    ("依据：……\n办理时限：法律规定15日内作出决定。", True),
    ("材料、办理时限：资料中没有说明，请向当地出入境管理机构咨询。", False),  # left open
    ("费用、办理时间、有效期：没有官方资料确认", False),
])
def test_an_entry_that_states_its_procedures_time(details: str, states: bool) -> None:
    assert states_its_time(details) is states


async def test_where_to_apply_after_a_fee_is_the_topics_application_not_the_fee_again(
        shared_server, ws_client):
    _, fee, where = await converse(ws_client, shared_server.ws_url,
                                "I came in on a Z visa, what do I have to do now?",
                                "how much for a one-year permit?", "where do I apply for it?")
    assert fee["meta"]["entry"] == "fees-residence-permit", fee
    assert where["meta"]["kind"] == "answer", where
    assert where["meta"]["entry"] == "residence-permit-application", where
    assert "exit-entry" in where["text"].lower(), where
    fee, where = await converse(ws_client, shared_server.ws_url, "申请永久居留要交多少钱？", "去哪里办？",
                             page_lang="zh")
    assert fee["meta"]["entry"] == "pr-application-fees", fee
    # Not an office nor a route to residence: the entry on where an application is made.
    assert where["meta"]["entry"] == "pr-application-procedure", where
    assert "出入境" in where["text"], where


async def test_when_to_apply_after_a_fee_is_the_procedures_own_deadline(shared_server, ws_client):
    fee, when = await converse(ws_client, shared_server.ws_url, "签证延期要交多少钱？", "要提前几天申请？",
                            page_lang="zh")
    assert fee["meta"]["entry"] == "fees-visa-extension", fee
    # The extension's 7 days before the stay ends, not a residence permit's 30 (the words alone).
    assert when["meta"]["entry"] == "visa-extension" and "7天" in when["text"], when


async def test_what_it_costs_after_an_entry_is_the_fee_it_links_to(shared_server, ws_client):
    extension, fee = await converse(ws_client, shared_server.ws_url,
                                 "我的visa下周就到期了", "fee要多少？", page_lang="zh")
    assert extension["meta"]["entry"] == "visa-extension", extension
    # The extension's fee (160), not permanent residence's, which the words alone find first.
    assert fee["meta"]["entry"] == "fees-visa-extension" and "160" in fee["text"], fee


@pytest.mark.parametrize(("details", "states"), [
    ("费用：100元（地方政府公布）。", True),
    ("费用：免费，官方不收取任何费用。", True),
    ("费用：以当地公布的收费标准为准。", False),  # only where it is published
    ("费用：见“台胞证费用”条目。", False),
])
def test_an_entry_that_states_its_own_fee(details: str, states: bool) -> None:
    assert states_its_fee(details) is states


async def test_what_it_costs_after_an_entry_that_states_its_fee_is_that_entry(
        shared_server, ws_client):
    permit, fee = await converse(ws_client, shared_server.ws_url,
                              "我的护照丢了，大使馆说来不及补发新护照，我怎么离境？", "这个证要多少钱？",
                              page_lang="zh")
    assert permit["meta"]["entry"] == "foreigner-exit-entry-permit", permit
    # Its own 100 yuan, not the fee table of visas issued in China, which the words find first.
    assert fee["meta"]["entry"] == "foreigner-exit-entry-permit" and "100元" in fee["text"], fee


async def test_how_long_it_takes_is_the_time_the_topics_own_entries_state(
        shared_server, ws_client):
    _, wait = await converse(ws_client, shared_server.ws_url,
                          "深圳哪些口岸可以办口岸签证？", "办下来要多久？", page_lang="zh")
    # A port visa's 30 minutes (in the entry on its ports), not a residence permit's 15 days.
    assert wait["meta"]["kind"] == "answer" and "30分钟" in wait["text"], wait
    _, wait = await converse(ws_client, shared_server.ws_url,
                          "I'm coming on an X1 visa to study, what must I do after I arrive?",
                          "how long does it take?")
    # The study residence permit the X1 visa leads to (15 days), not a visa extension's.
    assert wait["meta"]["entry"] == "study-residence-permit" and "15 days" in wait["text"], wait


@pytest.mark.parametrize(("text", "english"), [
    ("transit 上海 8 hours, 不出机场, need visa?", True),  # as many of each: it ends in English
    ("居住證 can use to cross border 嗎？", False),  # and this in Chinese
    ("转人工 please", False),  # none of either: not English
    ("Can I 用 PR card 买火车票 without my passport?", True),
    ("K visa 有没有 age limit？", False),
])
def test_code_mixed_text_is_read_in_the_language_of_its_grammar(text: str, english: bool) -> None:
    assert grammar_is_english(text) is english


def test_a_time_asked_as_a_limit_to_meet() -> None:
    assert asks_within("要几天之内办好？")
    assert asks_within("within how many days?")
    assert not asks_within("how long does it take?")


@pytest.mark.parametrize(("text", "deadline", "fine"), [
    ("访客须在到达后24小时内登记。", True, False),
    ("入境之日起30日内申请居留证件。", True, False),
    ("逾期的，处每日500元罚款。", False, True),
    ("处罚：对本人和聘用者均有罚款，详见相关条目。", False, False),  # no amount
])
def test_an_entry_that_states_a_time_limit_or_a_fine(text: str, deadline: bool, fine: bool) -> None:
    assert states_a_deadline(text) is deadline
    assert states_a_fine(text) is fine


async def test_a_time_limit_asked_after_registering_a_guest_is_that_entrys(
        shared_server, ws_client):
    _, limit = await converse(ws_client, shared_server.ws_url,
                              "My friend is staying at my flat in Beijing, does she have to register "
                              "with the police?", "within how many days?")
    # The guest's 24 hours, not another procedure's processing time that the words find.
    assert limit["meta"]["entry"] == "accommodation-registration-private-home", limit
    assert "24 hours" in limit["text"], limit


async def test_the_fine_asked_after_working_on_a_tourist_visa_is_illegal_employments(
        shared_server, ws_client):
    _, fine = await converse(ws_client, shared_server.ws_url,
                             "Can I do some paid work while I'm here on a tourist visa?",
                             "how much is the fine?")
    # The worker's fine for illegal employment (linked through its definition), not overstaying's.
    assert fine["meta"]["entry"] == "illegal-employment-penalties-foreigner", fine
