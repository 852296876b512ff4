"""Written Cantonese is searched in the standard Chinese the corpus is written in."""

import pytest

from bot.cantonese import to_standard


@pytest.mark.parametrize(("text", "searched"), [
    ("我簽證過咗期兩日，點算？", "我簽證逾期兩天，點算？"),
    ("續籤要幾多錢㗎？", "簽證延期要幾多錢㗎？"),
    ("我個居留證想續期", "我個居留證想延期"),
    ("我唔記得同佢續居留", "我唔記得同佢延期居留"),
    ("上個禮拜嚟咗廣州住我屋企", "上個禮拜嚟咗廣州住我家"),
    ("我老細話我拎住探親簽證都可以幫手", "我老板話我持有探親簽證都可以幫手"),
    ("my visa 过期咗 3日", "my visa逾期 3天"),
])
def test_colloquial_words_become_the_corpus_words(text, searched):
    assert to_standard(text) == searched


@pytest.mark.parametrize("text", [
    "3月5日入境，可以留到幾時？", "10月十一日入境", "日本人使唔使簽證？", "今日可唔可以辦？", "星期一開門嗎",
    "How long can I stay?",
])
def test_dates_countries_and_other_text_are_left_alone(text):
    assert to_standard(text) == text
