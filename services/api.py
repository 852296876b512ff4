"""The services' HTTP contract: the OpenAPI 3.1 document served at /api/openapi.json, with its
schemas generated from the same pydantic models the adapters exchange, so they cannot drift."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from services.appointments import (
    Booking,
    BookingRequest,
    DayAvailability,
    OpenDays,
    Ownership,
    RescheduleRequest,
    ServiceList,
)
from services.directory import OfficeAnswer
from services.documents import Verdict
from services.guides import Guide, GuideList, default_catalogue
from services.records import LookupRequest, Record

API_VERSION = "0.1.0"


def openapi_document() -> dict[str, Any]:
    _, schemas = models_json_schema(
        [(OfficeAnswer, "serialization"), (ServiceList, "serialization"),
         (OpenDays, "serialization"), (DayAvailability, "serialization"),
         (Booking, "serialization"), (BookingRequest, "validation"),
         (Ownership, "validation"), (RescheduleRequest, "validation"),
         (LookupRequest, "validation"), (Record, "serialization"), (Verdict, "serialization"),
         (GuideList, "serialization"), (Guide, "serialization")],
        ref_template="#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {
        "/api/offices": {
            "get": {
                "operationId": "findOffices",
                "summary": "Exit-entry offices of a city or province",
                "description": "Offices of a city, or of every city of a province, named in "
                               "Chinese (either script) or English. Unverified fields are null "
                               "(phone: []); `directory` says where to look them up.",
                "parameters": [
                    {"name": "place", "in": "query", "required": True,
                     "schema": {"type": "string", "minLength": 1, "maxLength": 64}},
                    {"name": "lang", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": ["zh", "en"], "default": "zh"}},
                ],
                "responses": {
                    "200": {"description": "The offices found (possibly none)",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/OfficeAnswer"}}}},
                    "400": API_ERROR,
                },
            },
        },
        **appointment_paths(),
        **record_paths(),
        **guide_paths(),
    }
    for path in paths.values():
        for operation in path.values():
            # Any request: a target over 2 KiB is refused before it reaches a route.
            operation["responses"]["414"] = {**API_ERROR, "description": "URI too long"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "12367 ONLINE services", "version": API_VERSION,
                 "description": "The NIA online services behind the 12367 ONLINE chat."},
        "paths": paths,
        "components": {"schemas": schemas["$defs"]},
    }


def _ref(model: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{model}"}


def _json(description: str, model: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


# Refusals are JSON {"error": code, "detail": ...} (bot/http_api.py).
API_ERROR = {"description": "Refused: `error` says why (invalid, no_body, not_json, not_pdf, "
                            "too_large, unknown_office, not_found, not_bookable, slot_full, "
                            "cancelled, not_matched, locked)",
             "content": {"application/json": {"schema": {
                 "type": "object", "required": ["error", "detail"],
                 "properties": {"error": {"type": "string"}, "detail": {}}}}}}
OFFICE = {"name": "office", "in": "query", "required": True,
          "schema": {"type": "string", "minLength": 1, "maxLength": 64},
          "description": "An office id, as /api/offices gives it"}
REFERENCE = {"name": "reference", "in": "path", "required": True,
             "schema": {"type": "string", "pattern": "^AP[0-9A-HJKMNP-TV-Z]{8}$"}}


def _post(operation: str, summary: str, body: str, answer: str, status: str = "200",
          parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    errors = {code: API_ERROR for code in ("400", "404", "409", "413", "415")}
    return {"post": {"operationId": operation, "summary": summary,
                     "parameters": parameters or [],
                     "requestBody": {"required": True, "content": {
                         "application/json": {"schema": _ref(body)}}},
                     "responses": {status: _json(summary, answer), **errors}}}


def appointment_paths() -> dict[str, Any]:
    """Book, cancel and reschedule: the bodies are at most 16 KiB of JSON with a
    Content-Length; a passport number proves a booking is the caller's."""
    bad = {"400": API_ERROR, "404": API_ERROR}
    return {
        "/api/appointments/services": {"get": {
            "operationId": "appointmentServices", "summary": "What can be booked",
            "responses": {"200": _json("The kinds of application", "ServiceList")}}},
        "/api/appointments/days": {"get": {
            "operationId": "openDays", "summary": "An office's next bookable days",
            "description": "Working days only (Chinese public holidays and adjusted working "
                           "days), after today and inside the booking window.",
            "parameters": [OFFICE, {"name": "count", "in": "query", "required": False,
                                    "schema": {"type": "integer", "minimum": 1, "maximum": 20,
                                               "default": 10}}],
            "responses": {"200": _json("The days", "OpenDays"), **bad}}},
        "/api/appointments/availability": {"get": {
            "operationId": "availability", "summary": "An office's slots on a day",
            "description": "`day.status` says why a day cannot be booked (holiday, weekend, "
                           "past, too_far, no_calendar); then `slots` is empty.",
            "parameters": [OFFICE, {"name": "date", "in": "query", "required": True,
                                    "schema": {"type": "string", "format": "date"}}],
            "responses": {"200": _json("The day and its slots", "DayAvailability"), **bad}}},
        "/api/appointments": _post("book", "Book a slot", "BookingRequest", "Booking", "201"),
        "/api/appointments/{reference}/lookup": _post(
            "findBooking", "A booking, shown to its applicant", "Ownership", "Booking",
            parameters=[REFERENCE]),
        "/api/appointments/{reference}/cancel": _post(
            "cancelBooking", "Cancel a booking", "Ownership", "Booking", parameters=[REFERENCE]),
        "/api/appointments/{reference}/reschedule": _post(
            "reschedule", "Move a booking to another slot", "RescheduleRequest", "Booking",
            parameters=[REFERENCE]),
    }


def record_paths() -> dict[str, Any]:
    """The personal look-ups and the e-document check: identity data in the body only."""
    refused = {code: API_ERROR for code in ("400", "413", "415")}
    not_matched = {**API_ERROR, "description": "The details match no record that can be shown "
                   "(the same for a wrong passport, birth date or number): `detail.attempts_left`"}
    locked = {**API_ERROR, "description": "Too many failed checks from this conversation or "
              "address: `detail.until` (Unix time), and Retry-After",
              "headers": {"Retry-After": {"schema": {"type": "integer"}}}}
    return {
        "/api/records/lookup": {"post": {
            "operationId": "lookUpRecord", "summary": "One's own record, after an identity check",
            "description": "An application's progress, a visa or residence permit, a permanent-"
                           "resident ID card, or a PR holder's passport (`kind`), shown when "
                           "the passport number and birth date match the record's.",
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": _ref("LookupRequest")}}},
            "responses": {"200": _json("The record", "Record"), "404": not_matched,
                          "429": locked, **refused}}},
        "/api/documents/verify": {"post": {
            "operationId": "verifyDocument", "summary": "Check a passport e-document file",
            "description": "`status`: genuine (our key signed exactly these bytes and they are "
                           "registered), tampered, revoked, or unknown (no signature of ours). "
                           "At most 1 MiB.",
            "requestBody": {"required": True, "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
            "responses": {"200": _json("The verdict", "Verdict"), **refused}}},
    }


LANG = {"name": "lang", "in": "query", "required": False,
        "schema": {"type": "string", "enum": ["zh", "en"], "default": "zh"}}
SCRIPT = {"name": "script", "in": "query", "required": False,
          "schema": {"type": "string", "enum": ["zh-Hans", "zh-Hant"]},
          "description": "The Chinese script (with lang=zh only); Simplified by default"}


def guide_paths() -> dict[str, Any]:
    """The service guides: what the knowledge corpus states of a procedure, as JSON or as a
    checklist PDF."""
    return {
        "/api/guides": {"get": {
            "operationId": "listGuides", "summary": "The procedures with a service guide",
            "parameters": [LANG, SCRIPT],
            "responses": {"200": _json("The guides", "GuideList"), "400": API_ERROR}}},
        "/api/guides/{guide}": {"get": {
            "operationId": "getGuide", "summary": "A procedure's materials, requirements, steps and fees",
            "description": "Taken from the knowledge corpus only, with its official sources and "
                           "the date it is as of. `format=pdf`: the checklist to print, with a "
                           "tick box per document.",
            "parameters": [
                {"name": "guide", "in": "path", "required": True,
                 "schema": {"type": "string", "enum": list(default_catalogue())}},
                LANG, SCRIPT,
                {"name": "format", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": ["json", "pdf"], "default": "json"}}],
            "responses": {
                "200": {"description": "The guide", "content": {
                    "application/json": {"schema": _ref("Guide")},
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
                "400": API_ERROR, "404": API_ERROR}}},
    }
