"""A question that asks for one particular of its matter (how long a card is valid, what the fine
is) is answered with the entry that states it, over a real server and websocket as a visitor
meets it, even when it first tells who the visitor is and asks whether they may apply: the
matter's words alone put the entry about who may apply first. Two mechanisms: a close runner-up
that states the asked particular leads one that does not (retrieval/particulars.py), and entries
state the particulars visitors ask of their matter (knowledge/)."""

import pytest

from tests.bot.conversations import converse


@pytest.fixture(scope="module")
def shared_server(start_module_server):
    return start_module_server(CHAT_IP_RATE="1000", CHAT_IP_BURST="1000")


async def test_eligibility_and_validity_in_one_question_is_told_the_validity(shared_server, ws_client):
    (zh,) = await converse(ws_client, shared_server.ws_url,
                           "我是澳门居民，在珠海上班两年了，能办居住证吗？办了有效期多久？", page_lang="zh")
    assert zh["meta"]["kind"] == "answer", zh
    assert "有效期" in zh["text"] and "5年" in zh["text"], zh
    (en,) = await converse(ws_client, shared_server.ws_url,
                           "I'm from Macao and have lived in Zhuhai for a year; can I apply for the residence "
                           "permit for HK, Macao and Taiwan residents, and how long is it valid?")
    assert en["meta"]["kind"] == "answer", en
    assert "valid for 5 years" in en["text"], en


async def test_an_entry_about_the_matter_carries_the_asked_particular(shared_server, ws_client):
    """Entries that answer a matter state the particular a visitor asks of it beside it: the
    employer's fine entry states the worker's own fine, and Chinese citizens renewing a passport
    online are told it is 50 pilot cities (knowledge/, from the facts brief)."""
    (worker,) = await converse(ws_client, shared_server.ws_url,
                               "餐厅老板请了没有工作许可的外国人，被查到的话那个外国人自己罚多少？", page_lang="zh")
    assert worker["meta"]["kind"] == "answer", worker
    assert "5000元" in worker["text"] and "20000元" in worker["text"], worker
    (online,) = await converse(ws_client, shared_server.ws_url,
                               "Can a mainland Chinese citizen get a new passport online now?")
    assert online["meta"]["entry"] == "chinese-citizens-online-document-renewal", online
    assert "50 pilot cities" in online["text"], online


async def test_the_rule_entries_state_the_numbers_asked_with_them(shared_server, ws_client):
    """What counts as an overstay is told with its fine, and the cap on extensions with the
    deadline to apply (knowledge/, Exit and Entry Administration Law arts. 29 and 78)."""
    (overstay,) = await converse(ws_client, shared_server.ws_url,
                                 "Is staying a couple of days past my permitted stay treated as illegal "
                                 "residence, and what happens?")
    assert overstay["meta"]["entry"] == "overstay-definition", overstay
    assert "RMB 500 per day" in overstay["text"], overstay
    (cap,) = await converse(ws_client, shared_server.ws_url,
                            "签证停留期30天的，最多能延多久？什么时候之前要去申请？", page_lang="zh")
    assert cap["meta"]["entry"] == "visa-extension-limits", cap
    assert "7日前" in cap["text"], cap
