"""A year the calendar library lacks, entered by operators from the State Council's notice, is
bookable on a real server; a wrong entry stops with a clear message instead of a wrong day."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from services.holiday_calendar import CALENDAR_FILE, CalendarError, load_holiday_calendar

ROOT = Path(__file__).resolve().parents[2]
OFFICE = "chengdu-exit-entry-administration"
# A fictional year far ahead, so that no release of the library ever carries it.
YEAR_2100 = """\
years:
  2100:
    source: https://www.gov.cn/zhengce/content/2100-notice.htm
    published: 2099-11-04
    holidays:
      - {holiday: new_years_day, first: 2100-01-01, last: 2100-01-04}
    working_days: [2100-01-09]
"""


@pytest.fixture(scope="module")
def server_with_2100(start_module_server, tmp_path_factory):
    calendar = tmp_path_factory.mktemp("calendar") / "holiday_calendar.yaml"
    calendar.write_text(YEAR_2100, encoding="utf-8")
    return start_module_server(in_process=True, CHAT_APPOINTMENTS_TODAY="2099-12-31",
                               CHAT_HOLIDAY_CALENDAR=str(calendar))


def day_status(server, date: str) -> dict:
    return httpx.get(f"{server.url}/api/appointments/availability",
                     params={"office": OFFICE, "date": date}, timeout=10).json()["day"]


def test_an_operators_year_gives_its_holidays_and_working_days(server_with_2100):
    new_year = day_status(server_with_2100, "2100-01-04")  # a Monday inside the holiday
    assert new_year["status"] == "holiday" and new_year["holiday"]["zh"] == "元旦"
    assert day_status(server_with_2100, "2100-01-09")["status"] == "open"  # a Saturday worked
    assert day_status(server_with_2100, "2100-01-10")["status"] == "weekend"
    days = httpx.get(f"{server_with_2100.url}/api/appointments/days",
                     params={"office": OFFICE, "count": 6}, timeout=10).json()["days"]
    assert days == ["2100-01-05", "2100-01-06", "2100-01-07", "2100-01-08", "2100-01-09",
                    "2100-01-11"]
    booked = httpx.post(f"{server_with_2100.url}/api/appointments", timeout=10, json={
        "office_id": OFFICE, "service": "visa_extension", "date": "2100-01-09", "time": "10:00",
        "applicant": {"name": "Test Person", "passport": "E12345678"}})
    assert booked.status_code == 201, booked.text


@pytest.mark.parametrize(("wrong", "right", "says"), [
    ("https://www.gov.cn/zhengce/content/2100-notice.htm", "https://holidays.example.com/2100",
     "not the State Council's notice on gov.cn"),
    ("holiday: new_years_day", "holiday: new_year", "unknown holiday"),
    ("working_days: [2100-01-09]", "working_days: [2100-01-06]",
     "working day 2100-01-06 must be a weekend day"),
    ("last: 2100-01-04", "last: 2099-12-30", "before it starts"),
    ("first: 2100-01-01", "first: 2099-12-30", "outside 2100"),
])
def test_a_wrong_year_is_refused_with_what_is_wrong(tmp_path: Path, wrong, right, says):
    path = tmp_path / "holiday_calendar.yaml"
    path.write_text(YEAR_2100.replace(wrong, right), encoding="utf-8")
    with pytest.raises(CalendarError) as refused:
        load_holiday_calendar(path)
    assert says in str(refused.value) and "2100" in str(refused.value)


def test_the_server_will_not_start_on_a_wrong_year(tmp_path: Path):
    path = tmp_path / "holiday_calendar.yaml"
    path.write_text(YEAR_2100.replace("new_years_day", "new_year"), encoding="utf-8")
    started = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", "0"], capture_output=True, text=True,
        timeout=120, cwd=ROOT, env={**os.environ, "CHAT_DATA_DIR": str(tmp_path / "data"),
                                    "CHAT_HOLIDAY_CALENDAR": str(path)})
    assert started.returncode == 2
    assert started.stderr.startswith("cannot start: holiday_calendar.yaml: 2100:")
    assert "unknown holiday 'new_year'" in started.stderr


def test_the_shipped_file_loads_and_the_librarys_years_still_answer():
    calendar = load_holiday_calendar(CALENDAR_FILE)
    closed, name = calendar.closed(dt.date(2026, 10, 1))  # the library's years still answer
    assert closed and name is not None and name.en == "National Day"
