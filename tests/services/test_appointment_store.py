"""The embedded appointment backend on both databases: working days only (public holidays and
adjusted working days from chinese_calendar), seats per slot, cancel and reschedule by
reference and passport, and no double booking of the last seat under simultaneous requests."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from services.appointments import (
    Applicant,
    AppointmentError,
    Assisted,
    BookingRequest,
    Ownership,
    RescheduleRequest,
    Schedule,
)
from services.booking_store import EmbeddedAppointments
from storage.backends import open_database

TODAY = dt.date(2026, 9, 21)  # a Monday, ten days before National Day
TUESDAY = dt.date(2026, 9, 29)
OFFICE = "chengdu-exit-entry-administration"


def service(target, seats: int = 4) -> EmbeddedAppointments:
    return EmbeddedAppointments(open_database(target), Schedule(seats=seats), today=lambda: TODAY)


def request(day: dt.date = TUESDAY, time: str = "09:00", passport: str = "E12345678",
            **applicant) -> BookingRequest:
    return BookingRequest(office_id=OFFICE, service="visa_extension", date=day, time=time,
                          applicant=Applicant(name="Test Person", passport=passport, **applicant))


def test_working_days_only(tmp_path):
    s = service(tmp_path / "chat.sqlite3")
    national_day = s.availability(OFFICE, dt.date(2026, 10, 1))
    assert national_day.day.status == "holiday" and national_day.slots == ()
    assert national_day.day.holiday is not None and national_day.day.holiday.zh == "国庆节"
    assert s.availability(OFFICE, dt.date(2026, 9, 27)).day.status == "holiday"  # Mid-autumn
    assert s.availability(OFFICE, dt.date(2026, 10, 11)).day.status == "weekend"
    # A Saturday made a working day to bridge the holiday is bookable.
    adjusted = s.availability(OFFICE, dt.date(2026, 10, 10))
    assert adjusted.day.bookable and adjusted.slots[0].free == 4
    assert s.availability(OFFICE, TODAY).day.status == "past"
    # 25-27 September: Mid-autumn; 1-7 October: National Day.
    assert s.open_days(OFFICE, 7)[-3:] == (dt.date(2026, 9, 29), dt.date(2026, 9, 30),
                                           dt.date(2026, 10, 8))
    with pytest.raises(AppointmentError) as refused:
        s.book(request(day=dt.date(2026, 10, 1)))
    assert refused.value.code == "not_bookable"


def test_a_year_without_the_official_holidays_is_not_bookable(tmp_path):
    """A day in a year the calendar library does not cover yet is refused, never guessed."""
    last_day = dt.date(2099, 12, 28)
    s = EmbeddedAppointments(open_database(tmp_path / "chat.sqlite3"), Schedule(),
                             today=lambda: last_day)
    beyond = s.availability(OFFICE, dt.date(2100, 1, 5))
    assert beyond.day.status == "no_calendar" and beyond.slots == ()
    with pytest.raises(AppointmentError) as refused:
        s.book(request(day=dt.date(2100, 1, 5)))
    assert refused.value.code == "not_bookable"


def test_book_cancel_reschedule(database_target):
    s = service(database_target)
    helper = Assisted(relationship="mother", helper_name="Child Person")
    booking = s.book(request(passport="e1234 5678".replace(" ", ""), assisted=helper))
    assert booking.reference.startswith("AP") and booking.status == "booked"
    assert booking.passport_masked == "E12****78" and booking.relationship == "mother"
    assert s.availability(OFFICE, TUESDAY).slots[0].free == 3
    with pytest.raises(AppointmentError) as wrong:
        s.cancel(booking.reference, Ownership(passport="E99999999"))
    assert wrong.value.code == "not_found"  # the same answer as for an unknown reference
    moved = s.reschedule(booking.reference, RescheduleRequest(
        passport="E12345678", date=dt.date(2026, 9, 30), time="14:00"))
    assert (moved.date, moved.time) == (dt.date(2026, 9, 30), "14:00")
    assert s.availability(OFFICE, TUESDAY).slots[0].free == 4  # the old seat is free again
    cancelled = s.cancel(booking.reference, Ownership(passport="E12345678"))
    assert cancelled.status == "cancelled"
    assert all(slot.free == 4 for slot in s.availability(OFFICE, dt.date(2026, 9, 30)).slots)
    with pytest.raises(AppointmentError) as again:
        s.cancel(booking.reference, Ownership(passport="E12345678"))
    assert again.value.code == "cancelled"


def test_the_last_seat_goes_to_exactly_one_of_many(database_target):
    seats, attempts = 3, 12
    first = service(database_target, seats)
    for n in range(seats - 1):
        first.book(request(passport=f"P{n:07d}"))
    barrier = threading.Barrier(attempts)
    results: list[str] = []

    def attempt(n: int) -> None:
        own = service(database_target, seats)  # a connection per thread, as in the server
        barrier.wait()
        try:
            results.append(own.book(request(passport=f"Q{n:07d}")).reference)
        except AppointmentError as err:
            results.append(err.code)
        finally:
            own.db.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r[:2] for r in results).count("AP") == 1
    assert results.count("slot_full") == attempts - 1
    assert first.availability(OFFICE, TUESDAY).slots[0].free == 0


def test_the_retention_purge_removes_applicants_of_long_past_bookings(database_target):
    """A booking keeps its applicant until the visit is older than the retention (the office
    needs it until then); then the name and passport number go, the slot's record stays."""
    from bot.retention import Policy, purge

    s = service(database_target)
    kept = s.book(request(passport="K1111111"))
    old = s.book(request(passport="K2222222", time="09:30"))
    s.db.execute("UPDATE appointments SET starts_at = starts_at - ? WHERE reference = ?",
                 (400 * 24 * 3600, old.reference))
    policy = Policy(retention_s=90 * 24 * 3600, audit_retention_s=365 * 24 * 3600,
                    login_window_s=900)
    now = dt.datetime(2026, 9, 21, 12, tzinfo=dt.UTC).timestamp()
    report = purge(database_target, policy, now=now)
    assert report.counts["appointment applicants"] == 1
    rows = {r["reference"]: r for r in s.db.rows("SELECT * FROM appointments")}
    assert rows[old.reference]["passport"] == "" and rows[old.reference]["applicant_name"] == ""
    assert rows[old.reference]["slot"] == "09:30" and rows[old.reference]["purged_at"]
    assert rows[kept.reference]["passport"] == "K1111111"
