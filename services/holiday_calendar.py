"""Which days are China's public holidays and adjusted working days, for booking.

The calendar library (`chinese_calendar`) carries each year once a release follows the State
Council's notice, which comes out in November or December for the next year. Until then a
booking window that reaches into the new year would have nothing to go on, so operators can
enter a year from the notice itself in knowledge/holiday_calendar.yaml: the holidays with their
first and last days, the weekend days made working days, and the notice's address on gov.cn.
A year in that file is used in place of the library's (an operator's entry is the later word);
a year in neither is unknown, and its days are never guessed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlsplit

import chinese_calendar
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from services.offices import Texts

CALENDAR_FILE = Path(__file__).resolve().parent.parent / "knowledge" / "holiday_calendar.yaml"
HOLIDAY_NAMES = {h.name: Texts(zh=h.chinese, en=h.value) for h in chinese_calendar.Holiday}


class CalendarError(ValueError):
    """The operators' calendar file is not usable: says which year and what is wrong."""


class HolidaySpan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    holiday: str  # one of HOLIDAY_NAMES: spring_festival, national_day, ...
    first: dt.date
    last: dt.date

    @model_validator(mode="after")
    def _valid(self) -> HolidaySpan:
        if self.holiday not in HOLIDAY_NAMES:
            raise ValueError(f"unknown holiday {self.holiday!r}; one of {', '.join(HOLIDAY_NAMES)}")
        if self.last < self.first:
            raise ValueError(f"{self.holiday} ends ({self.last}) before it starts ({self.first})")
        return self

    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=n) for n in range((self.last - self.first).days + 1)]


class YearSchedule(BaseModel):
    """One year of the State Council's notice on public holidays."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    source: str = Field(min_length=1)  # the notice on gov.cn
    published: dt.date
    holidays: tuple[HolidaySpan, ...] = Field(min_length=1)
    working_days: tuple[dt.date, ...] = ()  # weekend days made working days

    @model_validator(mode="after")
    def _official(self) -> YearSchedule:
        host = urlsplit(self.source).hostname or ""
        if not (host == "gov.cn" or host.endswith(".gov.cn")):
            raise ValueError(f"source {self.source!r} is not the State Council's notice on gov.cn")
        return self


class HolidayCalendar:
    """Holidays and adjusted working days: the operators' years first, then the library's."""

    def __init__(self, years: dict[int, YearSchedule] | None = None) -> None:
        self._holidays: dict[dt.date, str] = {}
        self._working: set[dt.date] = set()
        self.years = frozenset(years or {})
        for year, schedule in (years or {}).items():
            self._add(year, schedule)

    def _add(self, year: int, schedule: YearSchedule) -> None:
        for span in schedule.holidays:
            for day in span.days():
                if day.year != year:
                    raise CalendarError(f"{year}: {span.holiday} has {day}, outside {year}")
                if day in self._holidays:
                    raise CalendarError(f"{year}: {day} is in two holidays")
                self._holidays[day] = span.holiday
        for day in schedule.working_days:
            if day.year != year or day.weekday() < 5 or day in self._holidays:
                raise CalendarError(f"{year}: working day {day} must be a weekend day of {year}"
                                    " outside the holidays")
            self._working.add(day)

    def closed(self, day: dt.date) -> tuple[bool, Texts | None]:
        """Whether offices are closed on ``day``, and the holiday's name when it is one.
        Raises NotImplementedError for a year nobody has published to us."""
        if day.year in self.years:
            if day in self._holidays:
                return True, HOLIDAY_NAMES[self._holidays[day]]
            return day.weekday() >= 5 and day not in self._working, None
        on_holiday, english = chinese_calendar.get_holiday_detail(day)
        if on_holiday and english is not None:
            named = next(h for h in chinese_calendar.Holiday if h.value == english)
            return True, HOLIDAY_NAMES[named.name]
        return on_holiday, None


def load_holiday_calendar(path: Path = CALENDAR_FILE) -> HolidayCalendar:
    """The calendar with the operators' years from ``path``; a clear CalendarError if any year
    in it is wrong, so a bad edit stops the server at start, not a visitor's booking."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    years: dict[int, YearSchedule] = {}
    for year, entry in (data.get("years") or {}).items():
        try:
            years[int(year)] = YearSchedule.model_validate(entry)
        except ValidationError as error:
            said = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'year'}: {e['msg']}"
                             for e in error.errors())
            raise CalendarError(f"{path.name}: {year}: {said}") from error
        except (ValueError, TypeError) as error:  # a year that is not a number
            raise CalendarError(f"{path.name}: {year}: {error}") from error
    try:
        return HolidayCalendar(years)
    except CalendarError as error:
        raise CalendarError(f"{path.name}: {error}") from error
