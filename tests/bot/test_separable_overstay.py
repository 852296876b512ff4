"""An overstay told in Cantonese with the word split by 咗 (超咗期, 過咗期) is answered with the
overstay's penalties, over a real server and websocket as a visitor meets it: the analyser reads
超咗期 as 超期 (retrieval/lexicon.py), where before jieba kept 超了期 as one unknown word and the
answer was permanent residence's minimum stay or the registration fine."""

import pytest

from tests.bot.conversations import converse


@pytest.fixture(scope="module")
def shared_server(start_module_server):
    """The module's server, with an IP allowance for its several chats from one address."""
    return start_module_server(CHAT_IP_RATE="1000", CHAT_IP_BURST="1000")


@pytest.mark.parametrize("text", [
    "如果喺大陸超咗期兩日，會點？",  # the 240-hour transit's activities before
    "本簽證過咗期半個月，而家去自首會點處理？",
])
async def test_a_split_overstay_gets_the_overstay_penalties(shared_server, ws_client, text: str) -> None:
    (reply,) = await converse(ws_client, shared_server.ws_url, text, page_lang="zh")
    assert reply["meta"]["entry"] == "overstay-penalties", reply
