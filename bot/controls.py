"""Which messages are controls: a language choice, a business option, an online-service menu.

A control changes how the chat goes on, so it must fire only when the message *is* the choice: a
button's text or a short command ("English please", "用繁體字答我", "中文"). A question that merely
mentions a language or an option ("is the form available in Korean?", "英文版的指南在哪里下载？",
"口岸通关要排队多久？") is a question and goes to the retriever. A small closed grammar decides
this, not the intent classifier: a command is its language names plus filler words, nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

from bot.nlu.text import fold
from bot.texts import BUSINESS_OPTIONS, ONLINE_SERVICES

# Reply languages and scripts a visitor can ask for, by the names people use for them (folded: Simplified,
# lower case). Longer names first so "traditional chinese" wins over "chinese".
LANGUAGE_NAMES: dict[str, str] = {
    "traditional chinese": "zh-Hant", "繁体中文": "zh-Hant", "繁体字": "zh-Hant",
    "繁体": "zh-Hant", "正体字": "zh-Hant", "正体": "zh-Hant", "traditional": "zh-Hant",
    "cantonese": "yue", "广东话": "yue", "粤语": "yue", "白话": "yue",
    "simplified chinese": "zh-Hans", "简体中文": "zh-Hans", "简体字": "zh-Hans",
    "简体": "zh-Hans", "simplified": "zh-Hans",
    # Chinese without a script: the visitor's own script if they write Chinese, else Simplified.
    "mandarin": "zh", "普通话": "zh", "国语": "zh", "汉语": "zh", "华语": "zh", "中文": "zh",
    "chinese": "zh", "english": "en", "英文": "en", "英语": "en",
}

_EN_FILLER = {
    "please", "pls", "plz", "can", "could", "would", "will", "you", "u", "reply", "respond",
    "answer", "speak", "talk", "write", "type", "use", "using", "in", "switch", "change", "to",
    "into", "the", "language", "let's", "lets", "let", "me", "i", "want", "prefer", "like",
    "chat", "with", "continue", "only", "do", "now", "from", "on", "back", "ok", "okay", "go",
    "just", "we", "us", "rather", "instead", "thanks", "thank", "hi", "hello", "sorry", "yes",
    "version", "mode", "set", "communicate", "'d", "d", "im", "i'm", "am", "more", "comfortable",
}
# Chinese filler, longest first (matched as substrings once the language names are gone).
_ZH_FILLER = sorted({
    "可不可以", "可唔可以", "能不能", "可以", "可否", "麻烦", "唔该", "请", "用", "讲", "说",
    "回答", "回复", "答复", "答", "覆", "我", "你", "您", "吗", "嘛", "呢", "啊", "吧", "呀", "啦",
    "好吗", "好不好", "换成", "换", "改成", "改用", "改", "切换到", "切换", "转成", "转", "到",
    "语言", "跟我", "和我", "同我", "的", "会", "识唔识", "识", "一下", "谢谢", "唔", "畀", "俾",
    "写", "打字", "交流", "沟通", "聊", "咨询", "继续", "想", "要", "以后", "之后", "接下来",
    "都", "同", "系", "是", "咩", "得", "唔得", "行", "行不行", "好", "就", "啲", "些", "先",
    "来", "嚟", "帮", "为", "给", "模式", "版本", "版", "字", "个", "一", "哋", "们", "中",
    "能", "返", "翻", "讲返", "用返", "改返", "噃", "喇", "嘅", "哦", "喔", "哈", "做",
}, key=len, reverse=True)

_OPTION_ALIASES = {
    "port_clearance": ("口岸通关", "口岸通关和边境出入", "port clearance", "border crossing"),
    "entry_exit_documents": ("出入境证件", "entry-exit documents", "entry exit documents"),
    "comments_suggestions": ("意见建议", "意见和建议", "comments and suggestions",
                             "comments & suggestions"),
}
_OPTION_FILLER = re.compile(r"^(我要|我选|选|选择|i choose|i pick|option)?\s*|[。.!！]+$")


# Each name as a pattern, longest first; ASCII names only as whole words.
_LANGUAGE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"(?<![a-z]){re.escape(name)}(?![a-z])" if name.isascii() else re.escape(name)), script)
    for name, script in sorted(LANGUAGE_NAMES.items(), key=lambda kv: -len(kv[0])))


@dataclass(frozen=True)
class Control:
    kind: Literal["language", "option", "service"]
    value: str  # a reply script (en, zh, zh-Hans, zh-Hant, yue), an option or a service intent


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[，,。.!！?？~～:：;；、()（）\"'“”]", " ", fold(text))).strip()


_CLAUSES = re.compile(r"[，,。.!！?？;；\n]+|\s(?:so|because|as|since)\s|因为|所以|方便|好让")
_MAX_REST = 8  # words (or two characters each) a command may carry: "...so my colleague can read it"


def language_choice(text: str) -> str | None:
    """The script a message asks the bot to reply in, if the message is that request: one
    clause that is a command, and at most a short reason besides ("Can you answer in Chinese?
    I want to show this to my landlord")."""
    clauses = [c for c in _CLAUSES.split(fold(text)) if c and c.strip()]
    for n, clause in enumerate(clauses):
        script = _command(clause)
        if script is not None:
            rest = " ".join(clauses[:n] + clauses[n + 1:])
            size = len(re.findall(r"[a-z]+", rest)) + len(re.findall(r"[\u3400-\u9fff]", rest)) / 2
            return script if size <= _MAX_REST else None
    return None


def _command(clause: str) -> str | None:
    """The script one clause asks for, if it is nothing but language names and filler."""
    plain = _plain(clause)
    if not plain or len(plain) > 60:
        return None
    found: list[str] = []
    rest = plain
    for pattern, script in _LANGUAGE_PATTERNS:
        if pattern.search(rest):
            found.append(script)
            rest = pattern.sub(" ", rest)
    if len(set(found)) != 1:
        return None  # no language named, or two ("中文还是英文？") which is a question
    return found[0] if all(_is_filler(word) for word in rest.split()) else None


def _is_filler(word: str) -> bool:
    if word.isascii():
        return word in _EN_FILLER
    for filler in _ZH_FILLER:
        word = word.replace(filler, "")
    return not word


def option_choice(text: str) -> str | None:
    plain = _OPTION_FILLER.sub("", _plain(text)).strip()
    for option, names in _option_names().items():
        if plain in names:
            return option
    return None


# The folded names are worked out once per process, not for every message (folding them all
# cost about 0.8 ms a message); cached functions rather than constants so that importing this
# module does not load OpenCC.
@cache
def _option_names() -> dict[str, frozenset[str]]:
    return {option: frozenset({fold(n) for n in BUSINESS_OPTIONS[option].values()} | {fold(a) for a in aliases})
            for option, aliases in _OPTION_ALIASES.items()}


@cache
def _service_names() -> dict[str, frozenset[str]]:
    return {intent: frozenset(_plain(n) for n in names.values()) for intent, names in ONLINE_SERVICES.items()}


def service_choice(text: str) -> str | None:
    plain = _plain(text)
    for intent, names in _service_names().items():
        if plain in names:
            return intent
    return None


def control_of(text: str) -> Control | None:
    """The control this message is, or None for anything else (questions included)."""
    if (script := language_choice(text)) is not None:
        return Control("language", script)
    if (option := option_choice(text)) is not None:
        return Control("option", option)
    if (service := service_choice(text)) is not None:
        return Control("service", service)
    return None
