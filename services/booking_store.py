"""The embedded appointment backend: bookings in our database (table ``appointments``,
storage/migrations/m0004_appointments.py), offices from knowledge/offices.yaml.

No double booking, even under simultaneous requests: a booking counts the seats taken in its
transaction and inserts the first free one, and the unique index on (office, day, slot, seat)
refuses the second of two transactions that counted the same free seat (PostgreSQL's READ
COMMITTED lets both count; SQLite's write lock already serialises them). The loser retries
with a fresh count, and finds the next seat or a full slot. We chose the constraint over
``SELECT … FOR UPDATE`` because a seat nobody holds yet has no row to lock.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable
from typing import Any

from services.appointments import (
    AppointmentError,
    Booking,
    BookingRequest,
    DayAvailability,
    Ownership,
    RescheduleRequest,
    Schedule,
    Slot,
    check_day,
    mask_passport,
)
from services.holiday_calendar import HolidayCalendar, load_holiday_calendar
from services.offices import OfficeBook, load_offices
from storage.database import Database, IntegrityError

CHINA = dt.timezone(dt.timedelta(hours=8))  # no daylight saving
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U


def china_today() -> dt.date:
    return dt.datetime.now(CHINA).date()


def new_reference() -> str:
    return "AP" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


class EmbeddedAppointments:
    """`Appointments` on one database connection (one per process or thread, as the database
    layer wants). ``today`` is injected so a demo or a test can fix the calendar."""

    def __init__(self, db: Database, schedule: Schedule | None = None,
                 today: Callable[[], dt.date] = china_today,
                 book: OfficeBook | None = None, calendar: HolidayCalendar | None = None) -> None:
        self.db = db
        self.schedule = schedule or Schedule()
        self.calendar = calendar or load_holiday_calendar()
        self.today = today
        self.offices = {o.id: o for o in (book or load_offices()).offices}

    # Reading --------------------------------------------------------------------------------

    def availability(self, office_id: str, day: dt.date) -> DayAvailability:
        self._office(office_id)
        check = check_day(day, self.today(), self.schedule, self.calendar)
        if not check.bookable:
            return DayAvailability(office_id=office_id, day=check)
        taken = {row["slot"]: int(row["n"]) for row in self.db.rows(
            "SELECT slot, count(*) AS n FROM appointments WHERE office_id = ? AND day = ?"
            " AND seat IS NOT NULL GROUP BY slot", (office_id, day.isoformat()))}
        slots = tuple(Slot(time=t, free=self.schedule.seats - taken.get(t, 0))
                      for t in self.schedule.slot_times())
        return DayAvailability(office_id=office_id, day=check, slots=slots)

    def open_days(self, office_id: str, count: int) -> tuple[dt.date, ...]:
        """The next ``count`` bookable days (working days in the window)."""
        self._office(office_id)
        today, days = self.today(), []
        for ahead in range(1, self.schedule.days_ahead + 1):
            day = today + dt.timedelta(days=ahead)
            if check_day(day, today, self.schedule, self.calendar).bookable:
                days.append(day)
            if len(days) == count:
                break
        return tuple(days)

    def find(self, reference: str, ownership: Ownership) -> Booking:
        return self._booking(self._owned(reference, ownership.passport)["reference"])

    # Writing --------------------------------------------------------------------------------

    def book(self, request: BookingRequest) -> Booking:
        self._bookable(request.office_id, request.date, request.time)
        for _ in range(self.schedule.seats + 2):
            reference = new_reference()
            try:
                with self.db.transaction():
                    seat = self._free_seat(request.office_id, request.date, request.time)
                    now = time.time()
                    a = request.applicant
                    self.db.execute(
                        "INSERT INTO appointments (reference, office_id, service, day, slot, seat,"
                        " status, applicant_name, passport, relationship, helper_name, starts_at,"
                        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'booked', ?, ?, ?, ?, ?,"
                        " ?, ?)",
                        (reference, request.office_id, request.service, request.date.isoformat(),
                         request.time, seat, a.name, a.passport,
                         a.assisted.relationship if a.assisted else None,
                         a.assisted.helper_name if a.assisted else None,
                         _starts_at(request.date, request.time), now, now))
            except IntegrityError:
                continue  # a simultaneous booking took that seat (or, rarely, the reference)
            return self._booking(reference)
        raise AppointmentError("slot_full", "this time slot is fully booked")

    def cancel(self, reference: str, ownership: Ownership) -> Booking:
        with self.db.transaction():
            self._owned(reference, ownership.passport)
            self.db.execute("UPDATE appointments SET status = 'cancelled', seat = NULL,"
                            " updated_at = ? WHERE reference = ?", (time.time(), reference))
        return self._booking(reference)

    def reschedule(self, reference: str, change: RescheduleRequest) -> Booking:
        row = self._owned(reference, change.passport)
        self._bookable(row["office_id"], change.date, change.time)
        for _ in range(self.schedule.seats + 2):
            try:
                with self.db.transaction():
                    self._owned(reference, change.passport)
                    # Give the old seat back first: moving within the same slot keeps one seat.
                    self.db.execute("UPDATE appointments SET seat = NULL WHERE reference = ?",
                                    (reference,))
                    seat = self._free_seat(row["office_id"], change.date, change.time)
                    self.db.execute(
                        "UPDATE appointments SET day = ?, slot = ?, seat = ?, starts_at = ?,"
                        " updated_at = ? WHERE reference = ?",
                        (change.date.isoformat(), change.time, seat,
                         _starts_at(change.date, change.time), time.time(), reference))
            except IntegrityError:
                continue
            return self._booking(reference)
        raise AppointmentError("slot_full", "this time slot is fully booked")

    # Checks ---------------------------------------------------------------------------------

    def _office(self, office_id: str) -> None:
        if office_id not in self.offices:
            raise AppointmentError("unknown_office", f"no office {office_id!r}")

    def _bookable(self, office_id: str, day: dt.date, slot: str) -> None:
        self._office(office_id)
        check = check_day(day, self.today(), self.schedule, self.calendar)
        if not check.bookable:
            raise AppointmentError("not_bookable", f"{day.isoformat()}: {check.status}", check)
        if slot not in self.schedule.slot_times():
            raise AppointmentError("no_slot", f"no slot at {slot}")

    def _free_seat(self, office_id: str, day: dt.date, slot: str) -> int:
        taken = {row["seat"] for row in self.db.rows(
            "SELECT seat FROM appointments WHERE office_id = ? AND day = ? AND slot = ?"
            " AND seat IS NOT NULL", (office_id, day.isoformat(), slot))}
        seat = next((s for s in range(1, self.schedule.seats + 1) if s not in taken), None)
        if seat is None:
            raise AppointmentError("slot_full", "this time slot is fully booked")
        return seat

    def _owned(self, reference: str, passport: str) -> dict[str, Any]:
        """The booked appointment ``reference`` if ``passport`` is its applicant's. A wrong
        passport number reads as an unknown reference: it must not confirm that one exists."""
        row = self.db.row("SELECT * FROM appointments WHERE reference = ?", (reference.upper(),))
        if row is None or row["passport"] != passport.strip().upper() or row["purged_at"]:
            raise AppointmentError("not_found", "no booking with that reference and passport")
        if row["status"] != "booked":
            raise AppointmentError("cancelled", "this booking was already cancelled")
        return row

    def _booking(self, reference: str) -> Booking:
        row = self.db.row("SELECT * FROM appointments WHERE reference = ?", (reference,))
        assert row is not None
        return Booking(
            reference=row["reference"], status=row["status"], office_id=row["office_id"],
            office_name=self.offices[row["office_id"]].name, service=row["service"],
            date=dt.date.fromisoformat(row["day"]), time=row["slot"],
            applicant_name=row["applicant_name"], passport_masked=mask_passport(row["passport"]),
            relationship=row["relationship"], helper_name=row["helper_name"])


def _starts_at(day: dt.date, slot: str) -> float:
    hours, minutes = (int(part) for part in slot.split(":"))
    return dt.datetime.combine(day, dt.time(hours, minutes), CHINA).timestamp()
