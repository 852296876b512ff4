"""Which appointment backend a process uses: the embedded one on the database (the server's
API, and the model workers unless `CHAT_APPOINTMENTS_URL` names a remote system that speaks
/api/appointments), with the calendar's today fixed by `CHAT_APPOINTMENTS_TODAY` when set and the operators' holiday
years read from `CHAT_HOLIDAY_CALENDAR`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bot.settings import Settings
from services.appointments import Appointments
from services.booking_store import EmbeddedAppointments, china_today
from services.holiday_calendar import load_holiday_calendar
from services.http_adapter import HttpAppointments
from storage.backends import open_database
from storage.database import Database


def calendar_today(settings: Settings) -> Callable[[], dt.date]:
    fixed = settings.appointments_today
    return china_today if fixed is None else (lambda: fixed)


def embedded_appointments(settings: Settings, db: Database) -> EmbeddedAppointments:
    return EmbeddedAppointments(db, today=calendar_today(settings),
                                calendar=load_holiday_calendar(settings.holiday_calendar))


def worker_appointments(settings: Settings) -> Appointments:
    """A model worker's own: a connection of its own to the one database, or the remote."""
    if settings.appointments_url:
        return HttpAppointments(settings.appointments_url)
    return embedded_appointments(settings, open_database(settings.database))
