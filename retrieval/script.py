"""Simplified Chinese → the visitor's script: the one conversion used for answers and bot texts.

OpenCC converts character by character inside the phrases it knows, and its dictionaries do not
know this domain's phrases: 换发 (renew a document) becomes 換髮 ("change hair"), 免签 becomes
免籤 (a lottery slip) and 还有只适用 becomes 還有隻適用 (a measure word). OpenCC's phrase-aware
configurations (s2twp, s2hk) make the same mistakes here, so a short reviewed list of fixes runs
after OpenCC. Every pair in it was found by converting the whole corpus and the bot texts and
reading each ambiguous character in context (tests/retrieval/test_traditional.py keeps it so).

This module is light on purpose (OpenCC only): bot and handoff texts use it at start-up.
"""

from __future__ import annotations

import re
from functools import lru_cache

import opencc

# zh-Hant: Taiwan-standard characters (為, 裡), no vocabulary change (s2twp would turn 信息 into
# 資訊 and 数据 into 資料, rewording official terms). yue: Hong Kong-standard characters.
CONFIGS = {"zh-Hant": "s2tw", "yue": "s2hk"}

# (wrong, right) after OpenCC. 發 (issue, send) vs 髮 (hair) and 簽 (sign, visa) vs 籤 (slip, lot):
# in this corpus only the first of each pair ever means what is written.
PHRASE_FIXES: tuple[tuple[str, str], ...] = (
    ("換髮", "換發"),  # 换发 renew (a visa, a permit)
    ("隻適用", "只適用"),  # 还有只适用…: 只 "only", not the measure word 隻
)
# 籤 stays only in words about slips and labels; everywhere else it is 簽 (免簽, 簽證, 落地簽, 面簽).
_SLIP_WORDS = re.compile(r"(標籤|抽籤|書籤|求籤|牙籤)")
_SLIP = "籤"


@lru_cache(maxsize=4)
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def to_script(text: str, script: str | None) -> str:
    """``text`` (Simplified Chinese, or English left as it is) in ``script``: zh-Hans, zh-Hant,
    yue or en. Unknown scripts leave the text unchanged."""
    config = CONFIGS.get(script or "")
    if not config or not text:
        return text
    return fix_phrases(_converter(config).convert(text))


def fix_phrases(text: str) -> str:
    for wrong, right in PHRASE_FIXES:
        text = text.replace(wrong, right)
    if _SLIP in text:
        parts = _SLIP_WORDS.split(text)  # odd indexes are the slip words, kept as they are
        text = "".join(p if i % 2 else p.replace(_SLIP, "簽") for i, p in enumerate(parts))
    return text


def to_simplified(text: str) -> str:
    """Traditional (Taiwan or Hong Kong) characters to Simplified, for matching."""
    return _converter("t2s").convert(text)
