"""Languages and scripts: what a reply is written in, and the one OpenCC set-up that converts
between Simplified and Traditional characters. (Which language a message is written in:
``runtime.language_id``.)

Replies are Chinese (zh) or English (en). Chinese replies are written in Simplified (zh-Hans),
Taiwan-standard Traditional (zh-Hant) or Hong Kong-standard Traditional for Cantonese writers
(yue); a message may also be code-mixed Chinese and English ("mixed").

Chinese is written once, in Simplified, and converted for the visitor. OpenCC converts character
by character inside the phrases it knows, and its dictionaries do not know this domain's phrases:
换发 (renew a document) becomes 換髮 ("change hair"), 免签 becomes 免籤 (a lottery slip) and 还有只适用
becomes 還有隻適用 (a measure word). OpenCC's phrase-aware configurations (s2twp, s2hk) make the
same mistakes here, so a short reviewed list of fixes runs after OpenCC. Every pair in it was found
by converting the whole corpus and the bot texts and reading each ambiguous character in context
(tests/retrieval/test_traditional.py keeps it so).

This module is light on purpose (OpenCC only): every floor above imports it, at start-up too.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

import opencc

Lang = Literal["zh", "en"]
Script = Literal["zh-Hans", "zh-Hant", "yue", "en"]  # what a reply is written in


# Conversion ------------------------------------------------------------------------------------

# zh-Hant: Taiwan-standard characters (為, 裡), no vocabulary change (s2twp would turn 信息 into
# 資訊 and 数据 into 資料, rewording official terms). yue: Hong Kong-standard characters.
TRADITIONAL_CONFIGS = {"zh-Hant": "s2tw", "yue": "s2hk"}

# (wrong, right) after OpenCC. 發 (issue, send) vs 髮 (hair) and 簽 (sign, visa) vs 籤 (slip, lot):
# in this corpus only the first of each pair ever means what is written.
PHRASE_FIXES: tuple[tuple[str, str], ...] = (
    ("換髮", "換發"),  # 换发 renew (a visa, a permit)
    ("隻適用", "只適用"),  # 还有只适用…: 只 "only", not the measure word 隻
)
# 籤 stays only in words about slips and labels; everywhere else it is 簽 (免簽, 簽證, 落地簽, 面簽).
_SLIP_WORDS = re.compile(r"(標籤|抽籤|書籤|求籤|牙籤)")
_SLIP = "籤"


@lru_cache(maxsize=8)
def converter(config: str) -> opencc.OpenCC:
    """The OpenCC converter for ``config`` (t2s, s2t, hk2s, s2tw, s2hk), made on first use: loading
    its dictionaries takes a while, and a converter is safe to share."""
    return opencc.OpenCC(config)


def output_script(lang: str, script: str | None) -> Script:
    """The script replies are written in: Traditional for Traditional and Cantonese writers,
    Simplified for every other Chinese writer, English for English."""
    if lang == "en":
        return "en"
    return "zh-Hant" if script == "zh-Hant" else "yue" if script == "yue" else "zh-Hans"


def to_script(text: str, script: str | None) -> str:
    """``text`` (Simplified Chinese, or English left as it is) in ``script``: zh-Hans, zh-Hant,
    yue or en. Unknown scripts leave the text unchanged."""
    config = TRADITIONAL_CONFIGS.get(script or "")
    if not config or not text:
        return text
    return fix_phrases(converter(config).convert(text))


def fix_phrases(text: str) -> str:
    for wrong, right in PHRASE_FIXES:
        text = text.replace(wrong, right)
    if _SLIP in text:
        parts = _SLIP_WORDS.split(text)  # odd indexes are the slip words, kept as they are
        text = "".join(p if i % 2 else p.replace(_SLIP, "簽") for i, p in enumerate(parts))
    return text


# Remembered: one message is converted by a dozen readers of the pipeline (NLU folding, the
# controls, the forms' cues, consent words), about 30 OpenCC calls per message otherwise.
RECENT_CONVERSIONS = 256


@lru_cache(maxsize=RECENT_CONVERSIONS)
def to_simplified(text: str) -> str:
    """Traditional (Taiwan or Hong Kong) characters to Simplified, for matching."""
    return converter("t2s").convert(text)


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def lang_of(text: str) -> Lang:
    """Any Han character makes a message Chinese: code-mixed questions are Chinese sentences.
    (The retriever's one rule; ``runtime.language_id`` tells scripts apart.)"""
    return "zh" if _HAN.search(text) else "en"
