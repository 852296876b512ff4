"""Reply scripts, questions about the hotline and a few more errands (issue 11), over a real
server and websocket as a visitor meets them: Cantonese written in Simplified characters ("要等
几耐？") is answered in Hong Kong characters; English contractions weigh a code-mixed message
towards English; "有没有人接？" asks whether the hotline answers and is answered, while "没有人接"
is still a complaint; a fee asked after the arrival card's exemptions is its cost (free); a train
ticket's refund, an Octopus card and a web domain are declined, buying a ticket with the PR card
is not; the same question of a place the answer just shown lists keeps that answer."""

import pytest

from bot.errands import runs_errand
from bot.handoff_cues import sounds_like_complaint
from runtime.language import to_simplified
from tests.bot.conversations import converse


@pytest.mark.parametrize(("text", "complaint"), [
    ("半夜打12367有没有人接？", False),  # asks whether anyone answers
    ("12367周末有冇人聽㗎？", False),
    ("打了三次12367都没有人接", True),
    ("熱線冇人聽，搞乜呀", True),
])
def test_asking_whether_anyone_answers_is_no_complaint(text: str, complaint: bool) -> None:
    assert sounds_like_complaint(text) is complaint


@pytest.mark.parametrize(("text", "errand"), [
    ("火车票怎么改签？", True),
    ("退高铁票要手续费吗", True),
    ("where can I top up my Octopus card in Shenzhen?", True),
    ("I'd like to register a domain name for my shop", True),
    ("买火车票可以只用永居证吗？", False),  # the PR card as ID: ours
    ("过境免签期间能坐高铁去别的省吗", False),
])
def test_more_errands(text: str, errand: bool) -> None:
    assert runs_errand(text) is errand


@pytest.fixture(scope="module")
def shared_server(start_module_server):
    """The module's server, with an IP allowance for its several chats from one address."""
    return start_module_server(CHAT_IP_RATE="1000", CHAT_IP_BURST="1000")


async def test_cantonese_in_simplified_characters_is_answered_in_hong_kong_characters(
        shared_server, ws_client):
    pr, = await converse(ws_client, shared_server.ws_url, "申请永居批下来要等几耐？", page_lang="zh")
    assert pr["meta"]["kind"] == "answer", pr
    assert pr["script"] == "yue" and to_simplified(pr["text"]) != pr["text"], pr


async def test_contractions_make_a_code_mixed_message_english(shared_server, ws_client):
    stay, = await converse(ws_client, shared_server.ws_url,
                           "I'm German and it's my first trip, 免签可以留几天?", page_lang="zh")
    assert stay["meta"]["kind"] == "answer", stay
    assert stay["script"] == "en", stay


async def test_whether_the_hotline_answers_at_night_is_answered(shared_server, ws_client):
    night, = await converse(ws_client, shared_server.ws_url, "半夜打12367有没有人接？", page_lang="zh")
    assert night["meta"]["kind"] == "answer", night


async def test_the_arrival_cards_cost_after_its_exemptions(shared_server, ws_client):
    who, fee = await converse(ws_client, shared_server.ws_url, "哪些人入境可以不填入境卡？", "收费吗？",
                              page_lang="zh")
    assert who["meta"]["entry"] == "arrival-card-exemptions", who
    assert fee["meta"]["entry"] == "arrival-card-free-scams", fee


async def test_an_octopus_card_is_declined(shared_server, ws_client):
    card, = await converse(ws_client, shared_server.ws_url, "在罗湖口岸哪里可以买八达通？", page_lang="zh")
    assert card["meta"]["kind"] == "decline", card


async def test_the_same_question_of_a_place_the_answer_lists_keeps_that_answer(
        shared_server, ws_client):
    airports, nanjing = await converse(ws_client, shared_server.ws_url,
                                       "transit 上海浦东 only 4 hours, 要不要过边检?",
                                       "what if my layover is in Nanjing?")
    assert airports["meta"]["entry"] == "transit-24h-no-inspection-airports", airports
    assert nanjing["meta"]["entry"] == "transit-24h-no-inspection-airports", nanjing
