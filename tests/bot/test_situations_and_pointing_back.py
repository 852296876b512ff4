"""Situations told at length and follow-ups that point back (issue 11), over a real server and
websocket as a visitor meets them: a long English message that tells the visitor's situation
before its question is not declined for the coverage model's reading of it, but is when that
question (its last sentence) asks an everyday errand, whatever papers the context names; after an answer
a message pointing at it ("how much is that", "during those days") is a follow-up on it, however
NLU reads its own words, while an off-topic message with a dummy "it" is still declined."""

import pytest

from bot.answer_policy import Evidence, choose, told_at_length
from bot.errands import runs_errand
from bot.follow_values import points_at_it
from tests.bot.conversations import converse

SITUATION = ("We've just arrived from Lisbon and my in-laws put us up in their flat in Xi'an for "
             "the holidays; my wife asks whether anyone has to tell the police that we are "
             "staying here?")


def _evidence(text: str, oos_confidence: float) -> Evidence:
    # What the coverage model and NLU say of such a message: barely covered, NLU unsure it is off topic.
    return Evidence(decision="clarify", confidence=0.2, in_scope=0.5, shares=(0.5, 0.2),
                    nlu_immigration=False, nlu_oos=True, nlu_oos_confidence=oos_confidence,
                    text=text)


def test_coverage_floors_do_not_apply_to_a_situation_told_at_length() -> None:
    assert told_at_length(SITUATION)
    assert not told_at_length("Do I need to register where I stay?")
    assert not told_at_length("我们从里斯本来，住在西安的亲戚家里，" * 3)  # Chinese: not counted in words
    assert choose(_evidence(SITUATION, 0.8)) == "answer"
    assert choose(_evidence("where do I register with the police?", 0.8)) == "decline"
    assert choose(_evidence(SITUATION, 0.99)) == "decline"  # NLU sure: still declined


# Our matters as context, an errand as the question.
ERRAND_TOLD = ("My work residence permit came through last week and I've registered with the police "
               "as well, so the papers are done. Now the kindergarten near our flat in Suzhou wants "
               "a deposit. Is a deposit normal there?")


def test_a_situation_told_at_length_is_judged_by_its_question() -> None:
    assert runs_errand(ERRAND_TOLD)
    assert not runs_errand("My work residence permit came through last week. Is a deposit normal?")
    # The errand as context, our matter as the question: ours.
    assert not runs_errand("My landlord kept my deposit when I moved out of my flat in Suzhou last "
                           "week. Do I have to register my new address at the police station again?")


def test_a_demonstrative_points_back_and_a_dummy_it_does_not() -> None:
    assert points_at_it("how much is that") and points_at_it("during those days?")
    assert points_at_it("那个要多久") and points_at_it("嗰個幾錢？")
    assert not points_at_it("is it going to rain in Beijing tomorrow?")


@pytest.fixture(scope="module")
def shared_server(start_module_server):
    """The module's server, with an IP allowance for its several chats from one address."""
    return start_module_server(CHAT_IP_RATE="1000", CHAT_IP_BURST="1000")


async def test_a_situation_told_at_length_is_answered(shared_server, ws_client):
    answer, = await converse(ws_client, shared_server.ws_url, SITUATION)
    assert answer["meta"]["kind"] == "answer", answer
    assert answer["meta"]["entry"] == "accommodation-registration-private-home", answer


async def test_an_errand_asked_after_a_situation_is_declined(shared_server, ws_client):
    errand, = await converse(ws_client, shared_server.ws_url, ERRAND_TOLD)
    assert errand["meta"]["kind"] == "decline", errand


async def test_a_follow_up_pointing_back_is_answered_on_its_topic(shared_server, ws_client):
    transit, train, rain = await converse(
        ws_client, shared_server.ws_url,
        "Can I leave the airport during a 240-hour visa-free transit in Beijing?",
        "could we take a high-speed train to another province during those days?",
        "is it going to rain in Beijing tomorrow?")
    assert transit["meta"]["kind"] == "answer", transit
    # NLU reads the train out of scope; "those days" are the transit's.
    assert train["meta"]["kind"] == "answer", train
    assert train["meta"]["entry"] == "transit-240h-area-of-stay", train
    assert rain["meta"]["kind"] == "decline", rain  # "it" stands for nothing here
