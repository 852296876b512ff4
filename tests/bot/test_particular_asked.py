"""A question that asks for one particular of its matter (how long a card is valid, what the fine
is) is answered with the entry that states it, over a real server and websocket as a visitor
meets it, even when it first tells who the visitor is and asks whether they may apply: the
matter's words alone put the entry about who may apply first (retrieval/particulars.py)."""

import pytest

from tests.bot.conversations import converse


@pytest.fixture(scope="module")
def shared_server(start_module_server):
    return start_module_server(CHAT_IP_RATE="1000", CHAT_IP_BURST="1000")


async def test_eligibility_and_validity_in_one_question_gets_the_validity(shared_server, ws_client):
    (zh,) = await converse(ws_client, shared_server.ws_url,
                           "我是澳门居民，在珠海上班两年了，能办居住证吗？办了有效期多久？", page_lang="zh")
    assert (zh["meta"]["kind"], zh["meta"]["entry"]) == ("answer", "hmt-residence-permit-validity"), zh
    assert "5年" in zh["text"], zh
    (en,) = await converse(ws_client, shared_server.ws_url,
                           "I'm from Macao and have lived in Zhuhai for a year; can I apply for the residence "
                           "permit for HK, Macao and Taiwan residents, and how long is it valid?")
    assert en["meta"]["entry"] == "hmt-residence-permit-validity", en
    assert "5 years" in en["text"], en
