"""The particular a question asks for (a fee, how long a document is valid, a number of places,
how long the procedure takes, since when a rule applies), and which entries state one.

Why: a visitor who asks "会罚多少？", "有效期多久？" or "how many ports take it?" wants the number,
and the matter's words alone often rank first an entry about the same matter that does not state
it (the work permit rather than illegal work's fines, who may apply for the residence card rather
than how long it is valid). When the leader states no such particular and a close runner-up does,
the runner-up leads. The kinds are coarse on purpose: what a number means is left to the ranking.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from retrieval.schema import Entry

Particular = Literal["fee", "validity", "count", "processing", "start"]
PARTICULARS: tuple[Particular, ...] = ("fee", "validity", "count", "processing", "start")

# Asked, on the analyser's normalised text (Cantonese already read as Mandarin: 几多钱 → 多少钱;
# English "how much" → "fee").
_ASKS: dict[Particular, re.Pattern[str]] = {
    "fee": re.compile(
        r"多少钱|几钱|费用|收费|要钱|收钱|罚多少|罚款多少|罚几|罚款是多少|罚金|"
        r"\b(?:fee|fees|fine|fined|fines)\b"),
    "validity": re.compile(r"有效期|有效多久|多少年有效|几年有效|\b(?:valid|validity)\b"),
    "count": re.compile(r"(?:几|多少)个?(?:口岸|城市|国家|机场|省|地方)|"
                        r"\bhow many (?:entry )?(?:ports|cities|countries|airports|checkpoints|places)\b"),
    "processing": re.compile(r"等多久|出结果|要(?:几天|多久)|审批.{0,6}多久|多久.{0,4}(?:批|办好|下来|拿到|审批)|"
                             r"\b(?:how long|duration) (?:does|will|would) (?:it|the \w+) take\b|\bprocessing time\b"),
    "start": re.compile(r"什么时候开始|几时开始|从什么时候|什么时候起|哪天开始|"
                        r"\bsince when\b|\bwhen did (?:it|this|that|the \w+) (?:start|begin)\b"),
}

# Stated, on an entry's answer (Simplified or English): a sum of money, how long a document is
# valid, a number of places, the time the office takes to decide, the date a rule starts.
_NUM = r"(?:\d[\d,.]*|[一二两三四五六七八九十百千万半]+)"
_STATES: dict[Particular, re.Pattern[str]] = {
    "fee": re.compile(
        rf"{_NUM}\s*(?:元|块)|(?:rmb|cny|yuan|¥)\s*{_NUM}|{_NUM}\s*(?:yuan|rmb)|免费|free of charge|\bno fee\b",
        re.IGNORECASE),
    "validity": re.compile(r"有效期|有效\s*{_NUM}|valid for|validity of|is valid".replace("{_NUM}", _NUM),
                           re.IGNORECASE),
    "count": re.compile(
        rf"{_NUM}\s*个?(?:口岸|城市|国家|机场|省)|\b\d+\s+(?:\w+\s+)?(?:ports?|cities|countries|airports|"
        r"checkpoints|provinces)\b",
        re.IGNORECASE),
    "processing": re.compile(rf"{_NUM}\s*个?工作日|\b\d+ working days\b|作出(?:审批)?决定|办结|"
                             r"\bdecides? within\b|\bdecision within\b", re.IGNORECASE),
    "start": re.compile(r"\d{4}年\d{1,2}月(?:\d{1,2}日)?(?:起|开始|施行|实施|生效)|"
                        r"\b(?:from|since|effective|in force from) \d{1,2} [A-Z][a-z]+ \d{4}\b"),
}


def asked(normalized: str) -> tuple[Particular, ...]:
    """The particulars a question asks for, from its analysed (normalised) text."""
    return tuple(p for p in PARTICULARS if _ASKS[p].search(normalized))


def stated(texts: Iterable[str]) -> frozenset[Particular]:
    """The particulars an entry's answer states."""
    joined = "\n".join(texts)
    return frozenset(p for p in PARTICULARS if _STATES[p].search(joined))


def entry_particulars(entry: Entry) -> frozenset[Particular]:
    """What an entry states, in either language (the two say the same)."""
    texts = [f"{a.short}\n{a.details}" for a in (entry.answer.zh, entry.answer.en)]
    return stated(texts)
