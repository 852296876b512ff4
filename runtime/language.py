"""Languages and scripts: what a message is written in, what a reply is written in, and the one
OpenCC set-up that converts between Simplified and Traditional characters.

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

Language identification (``detect_language``) has no model: a message is short and this runs on
every one in well under 1 ms. Rules, in order:
1. No Han characters -> English (``lang_of``; the retriever uses this rule alone).
2. Written-Cantonese markers (嘅 咗 喺 冇 點樣 ...) -> "yue" (Cantonese wins over code-mixing,
   because it decides how the answer is written).
3. Substantial English inside Chinese (a real English word, not an acronym or a visa letter, and
   Latin letters making up at least a quarter of the letters) -> "mixed".
4. Traditional vs Simplified: OpenCC's t2s and s2t conversions each change the characters that
   belong only to the other script; whichever direction changes more tells the script.

This module is light on purpose (OpenCC only): every floor above imports it, at start-up too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import opencc

Lang = Literal["zh", "en"]
Script = Literal["zh-Hans", "zh-Hant", "yue", "en"]  # what a reply is written in
MessageScript = Literal["zh-Hans", "zh-Hant", "yue", "en", "mixed"]  # what a message is written in


@dataclass(frozen=True, slots=True)
class LangInfo:
    lang: Lang
    script: MessageScript


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


# Identification --------------------------------------------------------------------------------

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
# Characters and words that appear in written Cantonese and (almost) never in Mandarin text.
_YUE_CHARS = frozenset("嘅咗喺嘢睇冇佢哋乜嚟啲畀俾嗰噉冚搵攞諗咁囉喎嘞啱嚿唞瞓攰揸閂闩㗎")
_YUE_WORDS = ("點樣", "点样", "係咪", "系咪", "唔該", "唔该", "唔係", "唔系", "唔使", "唔駛",
              "唔好意思", "唔知", "唔見", "唔见", "幾時", "几时", "邊度", "边度", "邊個", "边个",
              "乜嘢", "咩嘢", "係唔係", "有冇", "點算", "点算", "點搞", "点搞", "幾多", "几多",
              "呢個", "呢个", "呢度", "呢啲", "呢條", "呢间", "呢間", "唔", "咩")
# 傾 means "to chat" in Cantonese unless it starts a Mandarin word (傾向, 傾聽, 傾斜 ...).
_YUE_QING = re.compile(r"[傾倾](?![向听聽斜倒诉訴销銷家盆城覆注心慕囊泻瀉])")


def lang_of(text: str) -> Lang:
    """Any Han character makes a message Chinese: code-mixed questions are Chinese sentences."""
    return "zh" if _HAN.search(text) else "en"


def _is_english_word(word: str) -> bool:
    # Upper-case acronyms (PR, HK, Z, J1) and single letters are names/codes inside Chinese text.
    return len(word) >= 2 and not word.isupper()


def detect_language(text: str) -> LangInfo:
    """The language and script one message is written in (rules in the module docstring)."""
    han = _HAN.findall(text)
    if not han:
        return LangInfo("en", "en")
    han_text = "".join(han)
    if (any(ch in _YUE_CHARS for ch in han_text) or any(w in text for w in _YUE_WORDS)
            or _YUE_QING.search(text)):
        return LangInfo("zh", "yue")
    words = _LATIN_WORD.findall(text)
    latin_letters = sum(len(w) for w in words)
    if any(_is_english_word(w) for w in words) and latin_letters * 3 >= len(han):
        return LangInfo("zh", "mixed")
    traditional_only = _changed(han_text, converter("t2s").convert(han_text))
    simplified_only = _changed(han_text, converter("s2t").convert(han_text))
    return LangInfo("zh", "zh-Hant" if traditional_only > simplified_only else "zh-Hans")


def _changed(text: str, converted: str) -> int:
    return sum(a != b for a, b in zip(text, converted, strict=False))
