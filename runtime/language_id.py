"""Which language and script a message is written in.

Identification has no model: a message is short and this runs on every one in well under 1 ms.
``detect_language``'s rules, in order:
1. No Han characters -> English (``runtime.language.lang_of``; the retriever uses this rule alone).
2. Written-Cantonese markers (嘅 咗 喺 冇 點樣 几耐 ...) -> "yue" (Cantonese wins over code-mixing,
   because it decides how the answer is written).
3. Substantial English inside Chinese (a real English word, not an acronym or a visa letter, and
   Latin letters making up at least a quarter of the letters) -> "mixed".
4. Traditional vs Simplified: OpenCC's t2s and s2t conversions each change the characters that
   belong only to the other script; whichever direction changes more tells the script.

What a reply is then written in depends on the conversation too (bot/pipeline.py); the two
readings it needs beyond the script are here: whether the script is undecided, and whether a
code-mixed message's grammar is English.

Kept apart from ``runtime.language`` on purpose: that module's conversions are part of the
retrieval index's key, and these rules are not, so they change without rebuilding an index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from runtime.language import Lang, converter, to_simplified

MessageScript = Literal["zh-Hans", "zh-Hant", "yue", "en", "mixed"]  # what a message is written in


@dataclass(frozen=True, slots=True)
class LangInfo:
    lang: Lang
    script: MessageScript


# Identification --------------------------------------------------------------------------------

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
# Characters and words that appear in written Cantonese and (almost) never in Mandarin text.
_YUE_CHARS = frozenset("嘅咗喺嘢睇冇佢哋乜嚟啲畀俾嗰噉冚搵攞諗咁囉喎嘞啱嚿唞瞓攰揸閂闩㗎")
_YUE_WORDS = ("點樣", "点样", "係咪", "系咪", "唔該", "唔该", "唔係", "唔系", "唔使", "唔駛",
              "唔好意思", "唔知", "唔見", "唔见", "幾時", "几时", "邊度", "边度", "邊個", "边个",
              "乜嘢", "咩嘢", "係唔係", "有冇", "點算", "点算", "點搞", "点搞", "幾多", "几多",
              "呢個", "呢个", "呢度", "呢啲", "呢條", "呢间", "呢間", "唔", "咩",
              # how long, how much, which one ("要结婚几耐？", "residence permit 两年的要几钱？")
              "幾耐", "几耐", "幾錢", "几钱", "邊間", "边间")
# 傾 means "to chat" in Cantonese unless it starts a Mandarin word (傾向, 傾聽, 傾斜 ...).
_YUE_QING = re.compile(r"[傾倾](?![向听聽斜倒诉訴销銷家盆城覆注心慕囊泻瀉])")


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
    simplified_only = _changed(han_text, converter(_TO_TRADITIONAL).convert(han_text))
    return LangInfo("zh", "zh-Hant" if traditional_only > simplified_only else "zh-Hans")


# What a Simplified character becomes in Traditional, as Hong Kong writes it: 台 stays 台 (OpenCC's
# s2t makes it 臺, which few Traditional writers use), so "台胞證" counts as Traditional only.
_TO_TRADITIONAL = "s2hk"


def _changed(text: str, converted: str) -> int:
    return sum(a != b for a, b in zip(text, converted, strict=False))


def script_undecided(text: str) -> bool:
    """Its Han characters do not tell Simplified from Traditional: none belongs to one script
    only ("有效期呢？", "最多呢？"), or as many to each ("多謝晒": 謝 is Traditional, and s2t
    changes 晒), where detect_language says Simplified by default."""
    han = "".join(_HAN.findall(text))
    to_simple, to_trad = converter("t2s").convert(han), converter(_TO_TRADITIONAL).convert(han)
    return sum(map(str.__ne__, han, to_simple)) == sum(map(str.__ne__, han, to_trad))


def grammar_is_english(text: str) -> bool:
    """Code-mixed text is answered in the language of its grammar, not of its nouns: "Can I 用
    PR card 买火车票 without my passport?" is English, "K visa 有没有 age limit？" Chinese.
    Function words of each language are counted; a sentence-final particle counts twice. As
    many of each ("transit 北京 10 hours, 不出机场, need visa?"): the language the message ends
    in, where a code-mixed question is asked ("居住證 can use to cross border 嗎？" is Chinese)."""
    folded = to_simplified(text).lower()
    english = sum(w in _EN_FUNCTION for w in re.findall(r"[a-z']+", folded))
    chinese = sum(ch in _ZH_FUNCTION for ch in folded) + sum(ch in "吗呢吧嘛喇啦㗎" for ch in folded)
    if english != chinese or not english:
        return english > chinese
    words = re.findall(r"[a-z]+|[\u3400-\u9fff]", folded)
    return words[-1].isascii()


_EN_FUNCTION = set(
    "i you he she we they my your our is are am was were be do does did can could will would "
    "should must may might the a an to of in on at for with without from by about what how when "
    "where which who why if and or but not no need have has it this that there any much many "
    "long still "
    # Contractions are one word to the count ("I'm Brazilian, 巴西 passport免签几多天?").
    "i'm i've i'll i'd it's that's what's there's we're you're they're he's she's don't doesn't "
    "didn't can't won't isn't aren't".split())
# Cantonese ones too, in their Simplified form: "my landlord 唔肯退 deposit 點算" is Cantonese.
_ZH_FUNCTION = set("我你他她的了吗呢吧嘛要能可以怎么什么多少几哪在是有没不会去想请问该需得把被给和就都还也"
                   "唔咗嘅系喺点咩啲佢哋冇嚟")
