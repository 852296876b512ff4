"""Follow-ups about another party than the visitor (issue 11), over a real server and websocket
as a visitor meets them: "what about my kids?" after a renewal, "and for the company?" after a
worker's fine, "and my 15 year old's?" after the PR card's validity. Joined with its topic such a
follow-up finds the answer just shown again; the entry about that party (the dependants' permits,
the employer's fine) leads instead, or the one shown stays when its short answer already says it
for them."""

import pytest

from bot.follow_values import party_of, speaks_of
from tests.bot.conversations import converse


@pytest.mark.parametrize(("text", "party"), [
    ("what about my kids? they're on family permits", "relatives"),
    ("and my 15 year old's?", "relatives"),
    ("咁我屋企人呢？佢哋都係跟我嘅", "relatives"),
    ("我個仔嘅card呢？佢16歲", "relatives"),  # Cantonese 個仔, folded to 个仔
    ("and for the company?", "employer"),
    ("那雇主呢？", "employer"),
    ("what about Shanghai?", None),
    ("my wife's employer? and the kids?", None),  # two parties: no one to ask for
])
def test_the_party_a_follow_up_names(text: str, party: str | None) -> None:
    assert party_of(text) == party


def test_an_entry_speaks_of_a_party_in_the_corpus_words() -> None:
    assert speaks_of("relatives", "家属的居留证件一般不超过主申请人居留证件的有效期。")
    assert speaks_of("relatives", "未满18周岁的为5年")
    assert speaks_of("employer", "非法聘用外国人的处罚（对单位和个人）")
    assert not speaks_of("employer", "外国人非法就业的，处5000元以上20000元以下罚款")


@pytest.fixture(scope="module")
def shared_server(start_module_server):
    """The module's server, with an IP allowance for its several chats from one address."""
    return start_module_server(CHAT_IP_RATE="1000", CHAT_IP_BURST="1000")


async def test_a_follow_up_about_the_family_gets_the_dependants_entry(shared_server, ws_client):
    renew, kids = await converse(ws_client, shared_server.ws_url,
                                 "my residence permit runs out in 6 weeks, when can I renew it?",
                                 "what about my kids' permits, they're on the family one")
    assert renew["meta"]["entry"] == "residence-permit-renewal", renew
    assert kids["meta"]["kind"] == "answer", kids
    assert kids["meta"]["entry"] == "residence-permit-validity", kids
    assert "principal" in kids["text"], kids
    *_, family = await converse(ws_client, shared_server.ws_url, "我個居留證下個月到期，幾時要續？",
                                "咁我屋企人呢？佢哋都係跟我嘅", page_lang="zh")
    assert family["meta"]["entry"] == "residence-permit-validity", family


async def test_a_follow_up_about_the_company_gets_the_employers_fine(shared_server, ws_client):
    *_, fine, company = await converse(ws_client, shared_server.ws_url,
                                       "Can I work in China on a tourist visa?",
                                       "what's the fine if I get caught?", "and for the company?")
    assert fine["meta"]["entry"] == "illegal-employment-penalties-foreigner", fine
    assert company["meta"]["entry"] == "illegal-employment-penalties-employer", company
    assert "10,000" in company["text"], company


async def test_the_company_asked_with_you_dim_after_the_workers_fine(shared_server, ws_client):
    # "請佢間公司又點？" is "and the company that hired him?", as "...呢？" would be; the fine asked
    # first is illegal employment's (linked through its definition), not overstaying's.
    *_, fine, company = await converse(ws_client, shared_server.ws_url,
                                       "我朋友用旅遊簽證喺深圳返工，會有咩後果？", "罰幾多錢？",
                                       "請佢間公司又點？", page_lang="zh")
    assert fine["meta"]["entry"] == "illegal-employment-penalties-foreigner", fine
    assert company["meta"]["entry"] == "illegal-employment-penalties-employer", company


async def test_the_entry_shown_stays_when_it_already_says_it_for_them(shared_server, ws_client):
    *_, valid, teen = await converse(ws_client, shared_server.ws_url,
                                     "my PR card got damaged in the wash",
                                     "how long is the new one valid, I'm 40",
                                     "and my 15 year old's?")
    assert valid["meta"]["entry"] == "pr-card-validity", valid
    assert teen["meta"]["entry"] == "pr-card-validity", teen
    assert "5 years" in teen["text"], teen


async def test_an_entry_naming_the_party_elsewhere_in_the_search_does_not_lead(shared_server, ws_client):
    extend, kids = await converse(ws_client, shared_server.ws_url, "How do I extend my visa?",
                                  "and for my kids?")
    # The extension links to no entry about children; the joined search's child overstay entry
    # names children but is another matter.
    assert kids["meta"]["entry"] == extend["meta"]["entry"], (extend, kids)
