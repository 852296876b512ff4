"""The personal look-ups of the online services: the records (applications with their history,
visas and residence permits, permanent-resident ID cards, passports of permanent residents),
the identity a look-up must prove, and the interface a backend implements.

Every look-up names one record by its number and proves the visitor holds it with the passport
number and date of birth on file. A failed check says nothing of whether the record exists.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from services.appointments import Assisted

Kind = Literal["application", "permit", "pr_card", "passport"]

# The menu's services (bot/texts.py ONLINE_SERVICES) and the record each one reads.
SERVICE_KINDS: dict[str, Kind] = {
    "service_progress": "application",
    "service_visa_info": "permit",
    "service_pr_card_info": "pr_card",
    "service_passport_info": "passport",
}

# The shape of each number (the fictional demo data follows these): an application number is
# "A" + the submission date + a serial; a visa or permit number "V" or "R" + 9 digits; a
# permanent-resident ID card number 18 digits starting with 9 (the 2023 card's layout); a
# passport number 1-2 letters + 7-8 digits. The passport e-document is found by the holder's
# PR card number.
NUMBER_PATTERNS: dict[Kind, re.Pattern[str]] = {
    "application": re.compile(r"A\d{12}"),
    "permit": re.compile(r"[VR]\d{9}"),
    "pr_card": re.compile(r"9\d{17}"),
    "passport": re.compile(r"9\d{17}"),
}
PASSPORT_PATTERN = re.compile(r"[A-Z]{1,2}\d{7,8}")


class Identity(BaseModel):
    """What a visitor gives to see a record: its number, their passport number, their birth date."""

    model_config = ConfigDict(frozen=True)
    number: str
    passport: str
    birth: date


class HistoryStep(BaseModel):
    model_config = ConfigDict(frozen=True)
    on: date
    status: str


class Record(BaseModel):
    """One record as the holder may see it. ``status`` is a code (``submitted``,
    ``under_review``, ``material_needed``, ``approved``, ``ready_for_collection``, ``rejected``,
    ``valid``, ``expired``, ``cancelled``); ``details`` the kind's own fields (type, validity,
    office, what material is missing…), in both languages where they are words."""

    model_config = ConfigDict(frozen=True)
    number: str
    kind: Kind
    holder: str
    status: str
    details: dict[str, str]
    history: tuple[HistoryStep, ...] = ()


class Locked(BaseModel):
    """Too many failed checks from this conversation or address: no check until ``until``."""

    model_config = ConfigDict(frozen=True)
    until: float


class NotMatched(BaseModel):
    """The details do not match a record: the same answer whether or not the number exists."""

    model_config = ConfigDict(frozen=True)
    attempts_left: int


LookupResult = Record | NotMatched | Locked


class LookupRequest(BaseModel):
    """A look-up over HTTP (POST /api/records/lookup): the record's kind and the identity, in
    the body, never in a URL. ``conversation`` names the caller's own conversation for the
    per-conversation limit (a chat server asking for its visitors); without it the client
    address is the conversation. The per-address limit holds whatever it says."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Kind
    number: str = Field(min_length=1, max_length=32)
    passport: str = Field(min_length=1, max_length=20)
    birth: date
    conversation: str | None = Field(None, min_length=1, max_length=64,
                                     pattern=r"^[A-Za-z0-9_:.-]+$")
    # Someone asking for a family member or friend: recorded with the inquiry (services/inquiries.py).
    assisted: Assisted | None = None

    @field_validator("number", "passport")
    @classmethod
    def _upper(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip().upper()
        kind = info.data.get("kind")
        if info.field_name == "number" and kind is not None and not valid_number(kind, value):
            raise ValueError(f"not the shape of a {kind} number")
        if info.field_name == "passport" and not PASSPORT_PATTERN.fullmatch(value):
            raise ValueError("a passport number: 1-2 letters and 7-8 digits")
        return value

    @property
    def identity(self) -> Identity:
        return Identity(number=self.number, passport=self.passport, birth=self.birth)


class Requester(BaseModel):
    """Who asks, for the failure limits: the conversation and the client address."""

    model_config = ConfigDict(frozen=True)
    session: str
    ip: str


class RecordService(Protocol):
    def look_up(self, kind: Kind, identity: Identity, requester: Requester,
                now: float, assisted: Assisted | None = None) -> LookupResult:
        """The record of ``kind`` that ``identity`` proves, or why not. ``assisted``: someone
        asking for a family member or friend, which a remote backend records with its inquiry
        as the chat's own inquiries table does (services/inquiries.py)."""
        ...


def valid_number(kind: Kind, number: str) -> bool:
    return bool(NUMBER_PATTERNS[kind].fullmatch(number))
