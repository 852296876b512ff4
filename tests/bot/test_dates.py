"""Dates and times of day as visitors write them, against a fixed today (a Monday)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.dates import parse_clock, parse_date, parse_part

TODAY = dt.date(2026, 9, 21)  # Monday


@pytest.mark.parametrize(("text", "expected"), [
    ("今天", "2026-09-21"), ("明天上午", "2026-09-22"), ("后天", "2026-09-23"),
    ("大後天", "2026-09-24"), ("我想約聽日去廣州", "2026-09-22"), ("tomorrow", "2026-09-22"),
    ("the day after tomorrow", "2026-09-23"), ("下周二", "2026-09-29"), ("下星期五", "2026-10-02"),
    ("下個禮拜三", "2026-09-30"), ("周五", "2026-09-25"), ("星期一", "2026-09-28"),
    ("next Tuesday", "2026-09-29"), ("on Friday", "2026-09-25"), ("this Friday", "2026-09-25"),
    ("12月10日", "2026-12-10"), ("3月1号", "2027-03-01"), ("2026-12-10", "2026-12-10"),
    ("December 10", "2026-12-10"), ("10th Oct", "2026-10-10"),
    ("change the date to Friday", "2026-09-25"), ("I need to extend my visa", None),
    ("2026-02-30", None),
])
def test_dates(text, expected):
    found = parse_date(text, TODAY)
    assert (found.isoformat() if found else None) == expected


def test_from_a_sunday_next_tuesday_is_in_the_coming_week():
    assert parse_date("下周二", dt.date(2026, 9, 27)) == dt.date(2026, 9, 29)
    assert parse_date("next Tuesday", dt.date(2026, 9, 27)) == dt.date(2026, 9, 29)


@pytest.mark.parametrize(("text", "part", "clock"), [
    ("改成下午", "pm", None), ("下晝", "pm", None), ("朝早", "am", None),
    ("in the morning please", "am", None), ("9:30", None, "09:30"), ("14：00", None, "14:00"),
    ("9点半", None, "09:30"), ("下午2点", "pm", "14:00"), ("2pm", "pm", "14:00"),
    ("10 am", "am", "10:00"), ("11点", None, "11:00"),
])
def test_parts_and_clock(text, part, clock):
    assert parse_part(text) == part
    assert parse_clock(text) == clock
