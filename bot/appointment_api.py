"""/api/appointments...: the appointment service's operations over HTTP (docs/services.md),
served from the embedded backend; services/api.py describes them in the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from http import HTTPStatus

from bot.http_api import ApiAnswer, ApiError, ApiRequest, ApiRouter, json_answer
from services.appointments import (
    REFERENCE,
    AppointmentError,
    Appointments,
    BookingRequest,
    OpenDays,
    Ownership,
    RescheduleRequest,
    ServiceList,
)

STATUS = {"unknown_office": HTTPStatus.NOT_FOUND, "not_found": HTTPStatus.NOT_FOUND,
          "not_bookable": HTTPStatus.CONFLICT, "slot_full": HTTPStatus.CONFLICT,
          "cancelled": HTTPStatus.CONFLICT, "no_slot": HTTPStatus.BAD_REQUEST,
          "not_yours": HTTPStatus.NOT_FOUND}
MAX_DAYS = 20


def add_appointment_routes(router: ApiRouter, service: Appointments) -> None:
    api = AppointmentApi(service)
    router.add("GET", "/api/appointments/services", api.services)
    router.add("GET", "/api/appointments/days", api.days)
    router.add("GET", "/api/appointments/availability", api.availability)
    router.add("POST", "/api/appointments", api.book)
    router.add("POST", "/api/appointments/{reference}/lookup", api.find)
    router.add("POST", "/api/appointments/{reference}/cancel", api.cancel)
    router.add("POST", "/api/appointments/{reference}/reschedule", api.reschedule)


class AppointmentApi:
    def __init__(self, service: Appointments) -> None:
        self.service = service

    def services(self, request: ApiRequest) -> ApiAnswer:
        return json_answer(ServiceList.default())

    def days(self, request: ApiRequest) -> ApiAnswer:
        office = _office(request)
        count = request.arg("count", "10") or ""
        if not count.isdigit() or not 1 <= int(count) <= MAX_DAYS:
            raise ApiError(HTTPStatus.BAD_REQUEST, "invalid", f"count: 1-{MAX_DAYS}")
        return _run(lambda: json_answer(OpenDays(
            office_id=office, days=self.service.open_days(office, int(count)))))

    def availability(self, request: ApiRequest) -> ApiAnswer:
        office, day = _office(request), _date(request.arg("date"))
        return _run(lambda: json_answer(self.service.availability(office, day)))

    def book(self, request: ApiRequest) -> ApiAnswer:
        booking = request.json(BookingRequest)
        return _run(lambda: json_answer(self.service.book(booking), HTTPStatus.CREATED))

    def find(self, request: ApiRequest) -> ApiAnswer:
        reference, owner = _reference(request), request.json(Ownership)
        return _run(lambda: json_answer(self.service.find(reference, owner)))

    def cancel(self, request: ApiRequest) -> ApiAnswer:
        reference, owner = _reference(request), request.json(Ownership)
        return _run(lambda: json_answer(self.service.cancel(reference, owner)))

    def reschedule(self, request: ApiRequest) -> ApiAnswer:
        reference, change = _reference(request), request.json(RescheduleRequest)
        return _run(lambda: json_answer(self.service.reschedule(reference, change)))


def _run(work: Callable[[], ApiAnswer]) -> ApiAnswer:
    try:
        return work()
    except AppointmentError as err:
        detail: object = err.detail
        if err.day is not None:
            detail = {"message": err.detail, "day": err.day.model_dump(mode="json")}
        raise ApiError(STATUS[err.code], err.code, detail) from None


def _office(request: ApiRequest) -> str:
    office = request.arg("office") or ""
    if not 1 <= len(office) <= 64:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid", "office: an office id (/api/offices)")
    return office


def _date(value: str | None) -> dt.date:
    try:
        return dt.date.fromisoformat(value or "")
    except ValueError:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid", "date: YYYY-MM-DD") from None


def _reference(request: ApiRequest) -> str:
    reference = request.params["reference"].upper()
    if not REFERENCE.fullmatch(reference):
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid", "reference: AP and 8 characters")
    return reference

