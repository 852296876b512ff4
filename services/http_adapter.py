"""The services on a remote system that speaks our contract (/api/offices, /api/appointments...,
/api/records/lookup, described by /api/openapi.json): a deployment's bridge to the NIA's systems, or another of our
servers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from pydantic import BaseModel

from services.appointments import (
    AppointmentError,
    Assisted,
    Booking,
    BookingRequest,
    DayAvailability,
    DayCheck,
    OpenDays,
    Ownership,
    RescheduleRequest,
)
from services.directory import OfficeAnswer
from services.offices import Lang
from services.records import (
    Identity,
    Kind,
    Locked,
    LookupRequest,
    LookupResult,
    NotMatched,
    Record,
    Requester,
)


class HttpOfficeDirectory:
    def __init__(self, base_url: str, timeout: float = 5.0,
                 client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(timeout=timeout)

    def find(self, place: str, lang: Lang) -> OfficeAnswer:
        # Our server (websockets' HTTP handling) answers one request per connection and closes
        # it: a pooled keep-alive connection would be found closed on the next call.
        response = self.client.get(f"{self.base_url}/api/offices",
                                   params={"place": place, "lang": lang},
                                   headers={"Connection": "close"})
        response.raise_for_status()
        return OfficeAnswer.model_validate(response.json())

    def close(self) -> None:
        self.client.close()


class HttpAppointments:
    """`Appointments` on a remote server implementing /api/appointments...: a refusal comes
    back as the same `AppointmentError` the embedded backend raises."""

    def __init__(self, base_url: str, timeout: float = 5.0,
                 client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(timeout=timeout)

    def availability(self, office_id: str, day: dt.date) -> DayAvailability:
        return DayAvailability.model_validate(self._call(
            "GET", "/api/appointments/availability",
            params={"office": office_id, "date": day.isoformat()}))

    def open_days(self, office_id: str, count: int) -> tuple[dt.date, ...]:
        return OpenDays.model_validate(self._call(
            "GET", "/api/appointments/days", params={"office": office_id, "count": count})).days

    def find(self, reference: str, ownership: Ownership) -> Booking:
        return Booking.model_validate(self._call(
            "POST", f"/api/appointments/{reference}/lookup", ownership))

    def book(self, request: BookingRequest) -> Booking:
        return Booking.model_validate(self._call("POST", "/api/appointments", request))

    def cancel(self, reference: str, ownership: Ownership) -> Booking:
        return Booking.model_validate(self._call(
            "POST", f"/api/appointments/{reference}/cancel", ownership))

    def reschedule(self, reference: str, change: RescheduleRequest) -> Booking:
        return Booking.model_validate(self._call(
            "POST", f"/api/appointments/{reference}/reschedule", change))

    def _call(self, method: str, path: str, body: BaseModel | None = None,
              params: dict[str, str | int] | None = None) -> Any:
        # One request per connection, as for the office directory above.
        response = self.client.request(
            method, self.base_url + path, params=params, headers={
                "Connection": "close", "Content-Type": "application/json"},
            content=body.model_dump_json() if body is not None else None)
        if response.status_code in ERROR_STATUSES:
            error = response.json()
            day = (error.get("detail") or {}).get("day") if isinstance(error.get("detail"), dict) \
                else None
            raise AppointmentError(error["error"], str(error["detail"]),
                                   DayCheck.model_validate(day) if day else None)
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        self.client.close()


class HttpRecords:
    """`RecordService` on a remote server implementing POST /api/records/lookup. The visitor's
    conversation goes in the body and their address in X-Forwarded-For: a server that lists this
    one in CHAT_TRUSTED_PROXIES then counts failures per visitor, not per chat server."""

    def __init__(self, base_url: str, timeout: float = 5.0,
                 client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(timeout=timeout)

    def look_up(self, kind: Kind, identity: Identity, requester: Requester,
                now: float, assisted: Assisted | None = None) -> LookupResult:
        # The relationship and helper go along: the remote system records its own inquiries.
        body = LookupRequest(kind=kind, number=identity.number, passport=identity.passport,
                             birth=identity.birth, conversation=requester.session[:64],
                             assisted=assisted)
        response = self.client.post(
            f"{self.base_url}/api/records/lookup", content=body.model_dump_json(),
            headers={"Connection": "close", "Content-Type": "application/json",
                     "X-Forwarded-For": requester.ip})
        if response.status_code == 404:
            return NotMatched(attempts_left=response.json()["detail"]["attempts_left"])
        if response.status_code == 429:
            return Locked(until=float(response.json()["detail"]["until"]))
        response.raise_for_status()
        return Record.model_validate(response.json())

    def close(self) -> None:
        self.client.close()


# The statuses the API answers a refusal with (bot/appointment_api.py); others are failures.
ERROR_STATUSES = (404, 409)
