import json
from pathlib import Path

import pytest

from bot.nlu import LangInfo, detect_language

DEV = Path(__file__).with_name("langid_dev.jsonl")


def test_dev_set_accuracy_is_at_least_99_percent():
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 300
    wrong = [r for r in rows if detect_language(r["text"]) != LangInfo(r["lang"], r["script"])]
    assert len(wrong) / len(rows) <= 0.01, wrong


@pytest.mark.parametrize(
    ("text", "lang", "script"),
    [
        ("簽證過期點算", "zh", "yue"),
        ("我的签证过期了怎么办", "zh", "zh-Hans"),
        ("我的簽證過期了怎麼辦", "zh", "zh-Hant"),
        ("我嘅护照唔见咗", "zh", "yue"),  # Cantonese written with simplified characters
        ("要结婚几耐先可以申请？", "zh", "yue"),  # how long, how much, which one: Cantonese words
        ("residence permit 两年的要几钱？", "zh", "yue"),
        ("去边间办好？", "zh", "yue"),
        ("我的passport丢了怎么办", "zh", "mixed"),
        ("我想办Z字签证", "zh", "zh-Hans"),  # a visa letter is not English
        ("办理PR卡", "zh", "zh-Hans"),
        ("How do I extend my visa?", "en", "en"),
        ("", "en", "en"),
        ("12345", "en", "en"),
    ],
)
def test_examples(text, lang, script):
    assert detect_language(text) == LangInfo(lang, script)
