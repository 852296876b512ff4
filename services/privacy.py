"""Personal numbers and dates masked in what agents see: a visitor proving their identity to the
bot, or booking an appointment, types a document number, a passport number and a birth date, and
an agent who later opens the conversation needs none of them in full."""

from __future__ import annotations

import re
from collections.abc import Iterable

from services.documents import mask

# Document and passport numbers (letters then digits, or long digit runs, as the records'
# patterns and the log redaction, bot/logs.py, know them), and dates (birth dates).
_NUMBER = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{0,3}\d{7,20}[Xx]?(?![A-Za-z0-9])")
_DATE = re.compile(
    r"(?<!\d)(19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}(\s*[日号號])?"
    r"|(?<!\d)\d{1,2}(st|nd|rd|th)?\s+[A-Za-z]{3,9}\.?,?\s+(19|20)\d{2}"
    r"|\b[A-Za-z]{3,9}\.?\s+\d{1,2}(st|nd|rd|th)?,?\s+(19|20)\d{2}")
# The appointment form takes any passport number as printed (services/appointments.py PASSPORT:
# 5-20 letters and digits, one digit at least), shorter than _NUMBER knows: such a token is
# masked in a message that names a passport or answers the bot's question for one. Booking
# references (AP + 8) stay: an agent helping with a booking needs them.
_PASSPORT_LIKE = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z]*\d)[A-Za-z0-9]{5,20}(?![A-Za-z0-9])")
_REFERENCE = re.compile(r"AP[0-9A-HJKMNP-TV-Z]{8}", re.IGNORECASE)
_PASSPORT_WORD = re.compile(r"passport|护照|護照", re.IGNORECASE)
# The bot's replies that ask for identity data: the next visitor message answers them.
_ASKS_IDENTITY = ("lookup_form",)
_ASKS_FIELDS = ("passport",)


def mask_identity(text: str, asked_passport: bool = False, dates: bool = True) -> str:
    """"XA1234567, born 1988-04-12" → "XA*****67, born [date]"; "passport E1234AB" →
    "passport E1***AB". ``asked_passport``: the message answers a question for one; ``dates``:
    mask dates too (what visitors write; the bot's own replies carry booking dates, never a
    birth date)."""
    text = _NUMBER.sub(lambda m: mask(m.group(0)), text)
    if asked_passport or _PASSPORT_WORD.search(text):
        text = _PASSPORT_LIKE.sub(_mask_passport_like, text)
    return _DATE.sub("[date]", text) if dates else text


def _mask_passport_like(found: re.Match[str]) -> str:
    token = found.group(0)
    return token if _REFERENCE.fullmatch(token) or "*" in token else mask(token)


def asks_identity(event: dict) -> bool:
    """A bot reply that asks for a passport number or a look-up's identity data."""
    meta = event.get("meta") or {}
    return event.get("type") == "reply" and (meta.get("kind") in _ASKS_IDENTITY
                                             or meta.get("field") in _ASKS_FIELDS)


def masked_events(events: Iterable[dict]) -> list[dict]:
    """A transcript with every message's text masked, and the numbers and dates NLU found in a
    visitor's message; a visitor's answer to a question for a passport number is masked
    whatever shape the number has (other members as they are)."""
    masked, asked = [], False
    for event in events:
        if event.get("type") == "visitor":
            event = _masked_visitor(event, asked)
        elif isinstance(event.get("text"), str):
            event = {**event, "text": mask_identity(event["text"], dates=False)}
        if event.get("type") in ("reply", "visitor"):
            asked = asks_identity(event)
        masked.append(event)
    return masked


def _masked_visitor(event: dict, asked_passport: bool) -> dict:
    text = event.get("text")
    if isinstance(text, str):
        event = {**event, "text": mask_identity(text, asked_passport)}
    meta = event.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get("entities"), list):
        entities = [_masked_entity(e, asked_passport) for e in meta["entities"]]
        event = {**event, "meta": {**meta, "entities": entities}}
    return event


def _masked_entity(entity: object, asked_passport: bool) -> object:
    if not isinstance(entity, dict) or not isinstance(entity.get("value"), str):
        return entity
    if entity.get("type") == "date":
        return {**entity, "value": "[date]"}
    return {**entity, "value": mask_identity(entity["value"], asked_passport)}
