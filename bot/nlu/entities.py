"""Rule-based entity extraction: regexes (numbers, dates, visa letters) and lookup tables.

Lookup tables and synonyms come from the training data (``lookup:`` and ``synonym:`` items), so a
new city or nationality is a data change. Matching runs on ``text.fold`` output (Traditional
folded to Simplified), so 廣州 and 广州 both give the value 广州.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.nlu.dataset import TrainingData
from bot.nlu.text import fold
from bot.nlu.types import Entity

_VISA_LETTER = r"(?:J[12]|Q[12]|S[12]|X[12]|[CDFGLMRZK])"
_CN_NUM = r"\d{1,4}"
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
_MONTH_NUM = {m: i for i, m in enumerate(_MONTHS.split("|"), 1)} | {"sept": 9}


@dataclass(frozen=True)
class _Pattern:
    type: str
    regex: re.Pattern[str]
    group: str = "v"  # the named group holding the entity text


def _p(type_: str, pattern: str) -> _Pattern:
    return _Pattern(type_, re.compile(pattern, re.IGNORECASE))


# Built-in patterns, applied to folded text. Order matters only for ties (longer match wins).
# Whitespace is matched possessively (\s*+): what follows each run never starts with a space, so
# giving spaces back never finds a match, and with the backtracking "passport" or "visa" followed
# by 2,000 spaces took minutes (three runs split every way).
BUILTIN_PATTERNS: tuple[_Pattern, ...] = (
    # Chinese passports: E + 8 digits, or E + letter + 7 digits (older: G + 8 digits).
    _p("passport_number", r"(?<![a-z0-9])(?P<v>[eg][a-z]?\d{7,8})(?![a-z0-9])"),
    # Any passport number right after the words "passport number".
    _p("passport_number", r"(?:护照号码?|护照编号|passport\s*+(?:no\.?|number|#)?)"
                          r"\s*+(?:是|为|:|：|is)?\s*+(?P<v>[a-z]{0,2}\d{6,9})(?![a-z0-9])"),
    # Application / acceptance numbers: long digit strings (phone numbers have 11 digits: skip).
    _p("application_number", r"(?:受理编号|申请编号|受理号|申请号|编号"
                             r"|application\s*+(?:no\.?|number|id|#)|reference\s*+(?:no\.?|number))"
                             r"\s*+(?:是|为|:|：|is)?\s*+(?P<v>[a-z]{0,3}\d{8,20})(?![a-z0-9])"),
    _p("application_number", r"(?<![a-z0-9])(?P<v>\d{12,20})(?![0-9])"),
    # Dates.
    _p("date", r"(?P<v>\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?)"),
    _p("date", rf"(?P<v>{_CN_NUM}月\d{{1,2}}[日号])"),
    _p("date", rf"(?P<v>\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})[a-z]*\.?(?:,?\s+\d{{4}})?)\b"),
    _p("date", rf"(?P<v>(?:{_MONTHS})[a-z]*\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?)\b"),
    _p("date", r"(?P<v>今天|明天|后天|昨天|下周[一二三四五六日天]?|下个月|\btoday\b|\btomorrow\b|\bnext week\b)"),
    # Visa letters: "Z字签证", "M签", "Q2 visa", "visa type L", "签证类型X1".
    _p("visa_type", rf"(?<![a-z0-9])(?P<v>{_VISA_LETTER})\s*+(?:字|类)?\s*+(?:签证|签|visa)"),
    _p("visa_type", rf"(?:visa\s*+(?:type|category)?|签证类型|签证种类)"
                    rf"\s*+(?:是|为|:|：|is)?\s*+(?P<v>{_VISA_LETTER})(?![a-z0-9])"),
)


def _normalise(type_: str, raw: str) -> str:
    if type_ in ("passport_number", "application_number", "visa_type"):
        return raw.upper().replace(" ", "")
    if type_ == "date":
        return _normalise_date(raw)
    return raw


def _normalise_date(raw: str) -> str:
    """Full dates become ISO (2025-03-01); partial and relative dates keep their text."""
    if m := re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", raw):
        y, mo, d = map(int, m.groups())
        return f"{y:04d}-{mo:02d}-{d:02d}"
    words = re.findall(r"[a-z]+|\d+", raw.lower())
    month = next((_MONTH_NUM[w[:3]] for w in words if w[:3] in _MONTH_NUM), None)
    nums = [int(w) for w in words if w.isdigit()]
    if month and len(nums) == 2 and nums[1] > 31:
        return f"{nums[1]:04d}-{month:02d}-{nums[0]:02d}"
    return raw


class EntityExtractor:
    def __init__(self, data: TrainingData) -> None:
        self._patterns = list(BUILTIN_PATTERNS) + [
            _Pattern(type_, re.compile(p, re.IGNORECASE), group="")
            for type_, patterns in data.regexes.items() for p in patterns
        ]
        self._synonyms = {fold(k): v for k, v in data.synonyms.items()}
        surface: dict[str, str] = {}
        for type_, forms in data.lookups.items():
            for form in forms:
                surface.setdefault(fold(form), type_)
        for example in data.examples:  # annotated examples also teach surface forms
            for ent in example.entities:
                if ent.type not in ("application_number", "passport_number", "date"):
                    surface.setdefault(fold(ent.text), ent.type)
                    if ent.value != ent.text:
                        self._synonyms.setdefault(fold(ent.text), ent.value)
        self._types = surface
        self._lengths = _lengths_by_first_char(surface)

    def extract(self, text: str, folded: str | None = None) -> list[Entity]:
        folded = fold(text) if folded is None else folded
        found: list[Entity] = []
        for pattern in self._patterns:
            for m in pattern.regex.finditer(folded):
                start, end = m.span(pattern.group) if pattern.group else m.span()
                if start == end:
                    continue
                found.append(Entity(pattern.type, _normalise(pattern.type, m.group(pattern.group or 0)),
                                    text[start:end], start, end))
        for start, end in self._lookup_spans(folded):
            key = folded[start:end]
            original = text[start:end]
            value = self._synonyms.get(key) or (original if key.isascii() else key)
            found.append(Entity(self._types[key], value, original, start, end))
        return _resolve_overlaps(found)

    def _lookup_spans(self, folded: str) -> list[tuple[int, int]]:
        """Where the lookup tables' forms occur, left to right without overlaps, the longest form
        at each place (乌鲁木齐市 beats 乌鲁木齐); an ASCII form only between non-letters ("uk",
        not the "uk" of "ukraine"). What one regex alternating all ~570 forms found, without
        trying each of them at every character (a tenth of a millisecond per message)."""
        spans: list[tuple[int, int]] = []
        i = 0
        while i < len(folded):
            end = self._form_end(folded, i)
            if end is None:
                i += 1
            else:
                spans.append((i, end))
                i = end
        return spans

    def _form_end(self, folded: str, start: int) -> int | None:
        """The end of the longest form that starts at ``start``, if any."""
        for length in self._lengths.get(folded[start], ()):
            end = start + length
            form = folded[start:end]
            if len(form) == length and form in self._types and (not form.isascii() or _bounded(folded, start, end)):
                return end
        return None


_ASCII_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")


def _bounded(text: str, start: int, end: int) -> bool:
    """No lower-case ASCII letter right before ``start`` or at ``end`` (the text is folded)."""
    return (start == 0 or text[start - 1] not in _ASCII_LOWER) and (end == len(text) or text[end] not in _ASCII_LOWER)


def _lengths_by_first_char(forms: dict[str, str]) -> dict[str, tuple[int, ...]]:
    """First character -> the lengths of the forms that start with it, longest first."""
    lengths: dict[str, set[int]] = {}
    for form in forms:
        if form:
            lengths.setdefault(form[0], set()).add(len(form))
    return {ch: tuple(sorted(ls, reverse=True)) for ch, ls in lengths.items()}


def _resolve_overlaps(entities: list[Entity]) -> list[Entity]:
    """Keep the longest of overlapping spans (earlier wins a tie), in text order."""
    kept: list[Entity] = []
    for ent in sorted(entities, key=lambda e: (-(e.end - e.start), e.start)):
        if all(ent.end <= k.start or ent.start >= k.end for k in kept):
            kept.append(ent)
    return sorted(kept, key=lambda e: e.start)
