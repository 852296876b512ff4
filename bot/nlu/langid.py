"""Per-message language and script identification: zh/en, and zh-Hans / zh-Hant / yue / mixed.

Rules, in order (no model: a message is short and this runs on every one in well under 1 ms):
1. No Han characters -> English.
2. Written-Cantonese markers (嘅 咗 喺 冇 點樣 ...) -> "yue" (Cantonese wins over code-mixing,
   because it decides how the answer is written).
3. Substantial English inside Chinese (a real English word, not an acronym or a visa letter, and
   Latin letters making up at least a quarter of the letters) -> "mixed".
4. Traditional vs Simplified: OpenCC's t2s and s2t conversions each change the characters that
   belong only to the other script; whichever direction changes more tells the script.
"""

from __future__ import annotations

import re

import opencc

from bot.nlu.types import LangInfo

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
_T2S = opencc.OpenCC("t2s")
_S2T = opencc.OpenCC("s2t")


def _is_english_word(word: str) -> bool:
    # Upper-case acronyms (PR, HK, Z, J1) and single letters are names/codes inside Chinese text.
    return len(word) >= 2 and not word.isupper()


def detect_language(text: str) -> LangInfo:
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
    traditional_only = sum(a != b for a, b in zip(han_text, _T2S.convert(han_text), strict=False))
    simplified_only = sum(a != b for a, b in zip(han_text, _S2T.convert(han_text), strict=False))
    return LangInfo("zh", "zh-Hant" if traditional_only > simplified_only else "zh-Hans")
