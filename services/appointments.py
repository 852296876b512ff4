"""The appointment service: book, cancel and reschedule a visit to an exit-entry office.

`Appointments` is what the chat and `/api/appointments...` call; `services.booking_store` is the
embedded backend on our database, `services.http_adapter.HttpAppointments` the same operations
on a remote system. Bookable days are Chinese working days (`services.holiday_calendar`: public
holidays and the weekends turned into working days), inside a window after today; each office's day is
cut into slots of the `Schedule`, each with a fixed number of seats.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.holiday_calendar import HolidayCalendar
from services.offices import Lang, Texts

ServiceId = Literal["visa_extension", "visa_renewal", "visa_reissue", "stay_permit",
                    "residence_permit"]
SERVICES: dict[str, Texts] = {
    "visa_extension": Texts(zh="签证延期", en="visa extension"),
    "visa_renewal": Texts(zh="签证换发", en="visa renewal"),
    "visa_reissue": Texts(zh="签证补发", en="visa reissue"),
    "stay_permit": Texts(zh="停留证件", en="stay permit"),
    "residence_permit": Texts(zh="居留许可", en="residence permit"),
}
# A passport number as printed: letters and digits (no spaces), with at least one digit.
PASSPORT = re.compile(r"(?=[A-Z]*\d)[A-Z0-9]{5,20}")
REFERENCE = re.compile(r"AP[0-9A-HJKMNP-TV-Z]{8}")  # "AP" + 8 Crockford base-32 characters
TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


class Schedule(BaseModel):
    """The embedded backend's bookable hours, the same for every office: a demo configuration
    of ours, not the offices' published hours (those are in knowledge/offices.yaml where
    verified, and the chat shows them from there)."""

    model_config = ConfigDict(frozen=True)
    sessions: tuple[tuple[str, str], ...] = (("09:00", "12:00"), ("13:30", "17:00"))
    slot_minutes: int = 30
    seats: int = 4  # visitors one slot takes
    days_ahead: int = 30  # the furthest bookable day after today

    def slot_times(self) -> tuple[str, ...]:
        times: list[str] = []
        for start, end in self.sessions:
            at, stop = _minutes(start), _minutes(end)
            while at + self.slot_minutes <= stop:
                times.append(f"{at // 60:02d}:{at % 60:02d}")
                at += self.slot_minutes
        return tuple(times)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def afternoon(time: str) -> bool:
    return _minutes(time) >= 12 * 60


DayStatus = Literal["open", "weekend", "holiday", "past", "too_far", "no_calendar"]


class DayCheck(BaseModel):
    """Whether a date can be booked, and if not why: a public holiday (its name), a weekend
    that is not an adjusted working day, today or earlier, beyond the booking window, or a
    year whose official holiday calendar is not yet published (the library has no data)."""

    model_config = ConfigDict(frozen=True)
    date: dt.date
    status: DayStatus
    holiday: Texts | None = None

    @property
    def bookable(self) -> bool:
        return self.status == "open"


def check_day(day: dt.date, today: dt.date, schedule: Schedule,
              calendar: HolidayCalendar) -> DayCheck:
    if day <= today:
        return DayCheck(date=day, status="past")
    if (day - today).days > schedule.days_ahead:
        return DayCheck(date=day, status="too_far")
    try:
        closed, holiday = calendar.closed(day)
    except NotImplementedError:  # neither the library nor our operators have that year yet
        return DayCheck(date=day, status="no_calendar")
    if holiday is not None:
        return DayCheck(date=day, status="holiday", holiday=holiday)
    return DayCheck(date=day, status="weekend" if closed else "open")


class Assisted(BaseModel):
    """Someone booking for a family member or friend (the elderly, a child): recorded with the
    booking, so the office knows who will come with the applicant."""

    model_config = ConfigDict(frozen=True)
    relationship: str = Field(min_length=1, max_length=32)
    helper_name: str = Field(min_length=1, max_length=64)


class Applicant(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str = Field(min_length=1, max_length=64)
    passport: str = Field(min_length=5, max_length=20)
    assisted: Assisted | None = None

    @field_validator("passport")
    @classmethod
    def _passport(cls, value: str) -> str:
        value = value.strip().upper()
        if not PASSPORT.fullmatch(value):
            raise ValueError("a passport number: 5-20 letters and digits, at least one digit")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a name")
        return value.strip()


class BookingRequest(BaseModel):
    model_config = ConfigDict(frozen=True)
    office_id: str = Field(min_length=1, max_length=64)
    service: ServiceId
    date: dt.date
    time: str = Field(pattern=TIME.pattern)
    applicant: Applicant


class Ownership(BaseModel):
    """What proves a booking is the caller's: its passport number (the reference alone may have
    been seen by others)."""

    model_config = ConfigDict(frozen=True)
    passport: str = Field(min_length=5, max_length=20)


class RescheduleRequest(Ownership):
    date: dt.date
    time: str = Field(pattern=TIME.pattern)


class Booking(BaseModel):
    """A booking as callers see it: the passport number masked (E12****78)."""

    model_config = ConfigDict(frozen=True)
    reference: str
    status: Literal["booked", "cancelled"]
    office_id: str
    office_name: Texts
    service: ServiceId
    date: dt.date
    time: str
    applicant_name: str
    passport_masked: str
    relationship: str | None = None
    helper_name: str | None = None


class Slot(BaseModel):
    model_config = ConfigDict(frozen=True)
    time: str
    free: int


class DayAvailability(BaseModel):
    """An office's day: whether it can be booked and, if so, its slots with free seats."""

    model_config = ConfigDict(frozen=True)
    office_id: str
    day: DayCheck
    slots: tuple[Slot, ...] = ()


class AppointmentError(Exception):
    """A refusal the caller can explain to the visitor; `code` says which."""

    def __init__(self, code: Literal["unknown_office", "not_bookable", "no_slot", "slot_full",
                                     "not_found", "not_yours", "cancelled"],
                 detail: str, day: DayCheck | None = None) -> None:
        super().__init__(detail)
        self.code, self.detail, self.day = code, detail, day


class Appointments(Protocol):
    def availability(self, office_id: str, day: dt.date) -> DayAvailability: ...

    def open_days(self, office_id: str, count: int) -> tuple[dt.date, ...]: ...

    def find(self, reference: str, ownership: Ownership) -> Booking: ...

    def book(self, request: BookingRequest) -> Booking: ...

    def cancel(self, reference: str, ownership: Ownership) -> Booking: ...

    def reschedule(self, reference: str, change: RescheduleRequest) -> Booking: ...


def mask_passport(passport: str) -> str:
    return passport[:3] + "*" * max(1, len(passport) - 5) + passport[-2:]


def service_name(service: str, lang: Lang) -> str:
    return SERVICES[service](lang)


class ServiceOption(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: ServiceId
    name: Texts


class ServiceList(BaseModel):
    """The kinds of application an appointment can be made for."""

    model_config = ConfigDict(frozen=True)
    services: tuple[ServiceOption, ...]

    @classmethod
    def default(cls) -> ServiceList:
        return cls(services=tuple(ServiceOption.model_validate({"id": key, "name": name})
                                  for key, name in SERVICES.items()))


class OpenDays(BaseModel):
    """An office's next bookable days (working days inside the booking window)."""

    model_config = ConfigDict(frozen=True)
    office_id: str
    days: tuple[dt.date, ...]
