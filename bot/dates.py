"""Dates and times of day as visitors write them, in Chinese (any script, Cantonese too) and
English, relative to an injected today: 今天 明天 后天 聽日 下周二 下星期五 周五 12月10日 2026-12-10
today tomorrow "next Tuesday" Friday "December 10" "10 Dec"; 上午 下午 朝早 下晝 morning
afternoon; 9:30 9点半 10点 2pm.

Small and closed on purpose: a general parser (dateparser) reads far more than a booking form
needs and reads some of it differently ("下周二" from a Sunday), and these rules are tested one
by one (tests/bot/test_dates.py). "下周X" / "next X" is that day of next week (weeks start on
Monday); a bare "周X" / "X" the first such day after today.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from runtime.language import to_simplified

Part = Literal["am", "pm"]

_ZH_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_EN_WEEKDAY = {name: n for n, names in enumerate((
    ("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"),
    ("thursday", "thu", "thur", "thurs"), ("friday", "fri"), ("saturday", "sat"),
    ("sunday", "sun"))) for name in names}
_MONTHS = {name: n for n, names in enumerate((
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
    ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
    ("october", "oct"), ("november", "nov"), ("december", "dec")), 1) for name in names}
# Cantonese folded to Mandarin first: 聽日 → 明天, 後日 → 后天, 禮拜/礼拜 → 星期.
_YUE = (("听日", "明天"), ("礼拜", "星期"))
_RELATIVE_ZH = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "大后天": 3, "后天": 2, "后日": 2}
_RELATIVE_EN = {"today": 0, "tomorrow": 1, "day after tomorrow": 2}

_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_ZH_MONTH_DAY = re.compile(r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号]?")
_ZH_WEEK = re.compile(r"(下下|下个?|这个?|本)?(?:周|星期)([一二三四五六日天])")
_EN_WEEK = re.compile(r"\b(next|this|coming)?\s*(" + "|".join(_EN_WEEKDAY) + r")\b")
_EN_MONTH_DAY = re.compile(r"\b(" + "|".join(_MONTHS) + r")\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b"
                           r"|\b(\d{1,2})(?:st|nd|rd|th)?\s+(" + "|".join(_MONTHS) + r")\b")
_CLOCK = re.compile(r"\b([01]?\d|2[0-3])[:：]([0-5]\d)\b")
_ZH_CLOCK = re.compile(r"(\d{1,2})[点點时](半|(\d{1,2})分?)?")
_EN_CLOCK = re.compile(r"\b(1[0-2]|0?[1-9])(?::([0-5]\d))?\s*([ap])\.?m\b")
# "am" only after a number: "I am" is not the morning.
_PM = re.compile(r"下午|下昼|晏昼|\bafternoon\b|\d\s*p\.?m\b")
_AM = re.compile(r"上午|上昼|朝早|早上|\bmorning\b|\d\s*a\.?m\b")


def _fold(text: str) -> str:
    folded = to_simplified(text).lower()
    for yue, mandarin in _YUE:
        folded = folded.replace(yue, mandarin)
    return folded


def parse_date(text: str, today: dt.date) -> dt.date | None:
    """The first date the text names, or None."""
    folded = _fold(text)
    for parse in (_iso, _month_day, _relative, _weekday):
        found = parse(folded, today)
        if found is not None:
            return found
    return None


def _iso(text: str, today: dt.date) -> dt.date | None:
    match = _ISO.search(text)
    return _safe_date(*(int(g) for g in match.groups())) if match else None


def _month_day(text: str, today: dt.date) -> dt.date | None:
    match = _ZH_MONTH_DAY.search(text)
    if match:
        year = int(match.group(1)) if match.group(1) else None
        return _next_occurrence(today, int(match.group(2)), int(match.group(3)), year)
    match = _EN_MONTH_DAY.search(text)
    if match:
        month = _MONTHS[match.group(1) or match.group(4)]
        return _next_occurrence(today, month, int(match.group(2) or match.group(3)))
    return None


def _relative(text: str, today: dt.date) -> dt.date | None:
    for word, days in sorted(_RELATIVE_ZH.items(), key=lambda item: -len(item[0])):
        if word in text:
            return today + dt.timedelta(days=days)
    for word, days in sorted(_RELATIVE_EN.items(), key=lambda item: -len(item[0])):
        if re.search(rf"\b{word}\b", text):
            return today + dt.timedelta(days=days)
    return None


def _weekday(text: str, today: dt.date) -> dt.date | None:
    match = _ZH_WEEK.search(text)
    if match:
        prefix = match.group(1) or ""
        weeks = 2 if prefix == "下下" else 1 if prefix.startswith("下") else 0
        this_week = bool(prefix) and not weeks
        return _in_week(today, _ZH_WEEKDAY[match.group(2)], weeks, this_week)
    match = _EN_WEEK.search(text)
    if match:
        weeks = 1 if match.group(1) == "next" else 0
        return _in_week(today, _EN_WEEKDAY[match.group(2)], weeks, match.group(1) == "this")
    return None


def _in_week(today: dt.date, weekday: int, weeks: int, this_week: bool) -> dt.date:
    if weeks:
        monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=weeks)
        return monday + dt.timedelta(days=weekday)
    if this_week:
        return today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=weekday)
    ahead = (weekday - today.weekday()) % 7 or 7
    return today + dt.timedelta(days=ahead)


def _next_occurrence(today: dt.date, month: int, day: int, year: int | None = None
                     ) -> dt.date | None:
    if year is not None:
        return _safe_date(year, month, day)
    found = _safe_date(today.year, month, day)
    if found is not None and found < today:
        found = _safe_date(today.year + 1, month, day)
    return found


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def parse_part(text: str) -> Part | None:
    """Morning or afternoon, if the text says which."""
    folded = _fold(text)
    if _PM.search(folded):
        return "pm"
    return "am" if _AM.search(folded) else None


def parse_clock(text: str) -> str | None:
    """A time of day as HH:MM: "9:30", "9点半", "下午2点", "2pm"."""
    folded = _fold(text)
    match = _CLOCK.search(folded)
    if match:
        return f"{int(match.group(1)):02d}:{match.group(2)}"
    match = _EN_CLOCK.search(folded)
    if match:
        hour = int(match.group(1)) % 12 + (12 if match.group(3) == "p" else 0)
        return f"{hour:02d}:{match.group(2) or '00'}"
    match = _ZH_CLOCK.search(folded)
    if match:
        hour = int(match.group(1))
        if hour < 12 and parse_part(text) == "pm" or 1 <= hour <= 6:
            hour += 12  # "下午2点"; and nobody books an office for 2 at night
        minutes = 30 if match.group(2) == "半" else int(match.group(3) or 0)
        return f"{hour:02d}:{minutes:02d}" if hour < 24 and minutes < 60 else None
    return None
