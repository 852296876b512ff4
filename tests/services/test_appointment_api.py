"""/api/appointments... on a real server: book, cancel and reschedule over HTTP POST with JSON
bodies, the HTTP adapter against it, and clear 4xx answers to bad input."""

from __future__ import annotations

import datetime as dt
import json
import socket

import httpx
import pytest

from services.appointments import (
    Applicant,
    AppointmentError,
    BookingRequest,
    Ownership,
    RescheduleRequest,
)
from services.http_adapter import HttpAppointments

TODAY = "2026-09-21"  # a Monday, ten days before National Day
OFFICE = "chengdu-exit-entry-administration"
BOOKING = {"office_id": OFFICE, "service": "visa_extension", "date": "2026-09-29",
           "time": "10:00", "applicant": {"name": "Test Person", "passport": "E12345678"}}


@pytest.fixture(scope="module")
def api_server(start_module_server):
    return start_module_server(in_process=True, CHAT_APPOINTMENTS_TODAY=TODAY)


def post(server, path: str, body: object, **headers: str) -> httpx.Response:
    return httpx.post(server.url + path, content=json.dumps(body),
                      headers={"Content-Type": "application/json", **headers}, timeout=10)


def test_book_then_cancel_over_http(api_server):
    booked = post(api_server, "/api/appointments", BOOKING)
    assert booked.status_code == 201, booked.text
    booking = booked.json()
    assert booking["reference"].startswith("AP") and booking["passport_masked"] == "E12****78"
    assert "E12345678" not in booked.text  # the full passport number never comes back
    day = httpx.get(f"{api_server.url}/api/appointments/availability",
                    params={"office": OFFICE, "date": "2026-09-29"}).json()
    assert next(s for s in day["slots"] if s["time"] == "10:00")["free"] == 3
    ref = booking["reference"]
    assert post(api_server, f"/api/appointments/{ref}/cancel",
                {"passport": "X0000000"}).status_code == 404
    cancelled = post(api_server, f"/api/appointments/{ref}/cancel", {"passport": "e12345678"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


def test_a_holiday_is_refused_with_its_name(api_server):
    day = httpx.get(f"{api_server.url}/api/appointments/availability",
                    params={"office": OFFICE, "date": "2026-10-01"}).json()
    assert day["day"]["status"] == "holiday" and day["day"]["holiday"]["zh"] == "国庆节"
    refused = post(api_server, "/api/appointments", {**BOOKING, "date": "2026-10-01"})
    assert refused.status_code == 409 and refused.json()["error"] == "not_bookable"
    days = httpx.get(f"{api_server.url}/api/appointments/days",
                     params={"office": OFFICE, "count": 5}).json()["days"]
    assert days == ["2026-09-22", "2026-09-23", "2026-09-24", "2026-09-28", "2026-09-29"]


def test_bad_input_gets_a_clear_4xx(api_server):
    wrong = post(api_server, "/api/appointments",
                 {**BOOKING, "time": "25:00", "applicant": {"name": "", "passport": "??"}})
    assert wrong.status_code == 400
    fields = {d["field"] for d in wrong.json()["detail"]}
    assert fields == {"time", "applicant.name", "applicant.passport"}
    not_json = httpx.post(f"{api_server.url}/api/appointments", content="{",
                          headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["error"] == "invalid"
    as_form = httpx.post(f"{api_server.url}/api/appointments", data={"a": "b"})
    assert as_form.status_code == 415
    # A body declared over 16 KiB is refused on its head, before it is read. (The head alone is
    # sent: a client that goes on sending may find the connection reset before it reads the 413.)
    head = (b"POST /api/appointments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 20000\r\n\r\n{")
    with socket.create_connection(("127.0.0.1", api_server.port), timeout=10) as sock:
        sock.sendall(head)
        assert sock.makefile("rb").readline().startswith(b"HTTP/1.1 413")
    assert httpx.post(f"{api_server.url}/api/appointments").status_code == 400  # no body
    assert post(api_server, "/api/appointments/nope/cancel",
                {"passport": "E12345678"}).status_code == 400
    assert post(api_server, "/api/appointments", {**BOOKING, "office_id": "x"}).status_code == 404
    put = httpx.put(f"{api_server.url}/api/appointments", content="{}")
    assert put.status_code == 405 and put.headers["Allow"] == "POST"
    assert httpx.get(f"{api_server.url}/api/nothing").status_code == 404
    # A POST anywhere else is still refused, and the office directory answers as before.
    assert httpx.post(f"{api_server.url}/healthz", content="x").status_code == 405
    assert api_server.get("/api/offices?place=Chengdu&lang=en")[0] == 200


def test_a_body_sent_slowly_in_pieces(api_server):
    body = json.dumps({**BOOKING, "time": "11:00"}).encode()
    head = (f"POST /api/appointments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", api_server.port), timeout=10) as sock:
        for piece in (head[:20], head[20:] + body[:10], body[10:]):
            sock.sendall(piece)
        answer = sock.makefile("rb").read().decode()
    assert answer.startswith("HTTP/1.1 201") and '"time":"11:00"' in answer


def test_http_adapter_against_the_server(api_server):
    remote = HttpAppointments(api_server.url)
    try:
        day = dt.date(2026, 9, 30)
        booking = remote.book(BookingRequest(
            office_id=OFFICE, service="residence_permit", date=day, time="14:00",
            applicant=Applicant(name="测试人", passport="G7654321")))
        assert booking.applicant_name == "测试人" and booking.office_name.en
        assert next(s for s in remote.availability(OFFICE, day).slots
                    if s.time == "14:00").free == 3
        moved = remote.reschedule(booking.reference, RescheduleRequest(
            passport="G7654321", date=dt.date(2026, 10, 10), time="09:30"))
        assert (moved.date, moved.time) == (dt.date(2026, 10, 10), "09:30")
        with pytest.raises(AppointmentError) as holiday:
            remote.reschedule(booking.reference, RescheduleRequest(
                passport="G7654321", date=dt.date(2026, 10, 2), time="09:30"))
        assert holiday.value.code == "not_bookable" and holiday.value.day is not None
        assert holiday.value.day.holiday is not None
        assert remote.cancel(booking.reference, Ownership(passport="G7654321")).status \
            == "cancelled"
        assert remote.open_days(OFFICE, 2) == (dt.date(2026, 9, 22), dt.date(2026, 9, 23))
    finally:
        remote.close()


def test_openapi_describes_the_appointment_operations(api_server):
    doc = json.loads(api_server.get("/api/openapi.json")[1])
    assert doc["paths"]["/api/appointments"]["post"]["operationId"] == "book"
    assert {"BookingRequest", "Booking", "DayAvailability"} <= set(doc["components"]["schemas"])
