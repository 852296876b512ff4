"""Personal numbers and dates masked in what agents see: a visitor proving their identity to the
bot types a document number, a passport number and a birth date, and an agent who later opens
the conversation needs none of them in full."""

from __future__ import annotations

import re

from services.documents import mask

# Document and passport numbers (letters then digits, or long digit runs, as the records'
# patterns and the log redaction, bot/logs.py, know them), and dates (birth dates).
_NUMBER = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{0,3}\d{7,20}[Xx]?(?![A-Za-z0-9])")
_DATE = re.compile(
    r"(?<!\d)(19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*[日号號]?"
    r"|(?<!\d)\d{1,2}(st|nd|rd|th)?\s+[A-Za-z]{3,9}\.?,?\s+(19|20)\d{2}"
    r"|\b[A-Za-z]{3,9}\.?\s+\d{1,2}(st|nd|rd|th)?,?\s+(19|20)\d{2}")


def mask_identity(text: str) -> str:
    """"XA1234567, born 1988-04-12" → "XA*****67, born [date]"."""
    text = _NUMBER.sub(lambda m: mask(m.group(0)), text)
    return _DATE.sub("[date]", text)


def masked_event(event: dict) -> dict:
    """A transcript event with its text masked (other members as they are)."""
    body = event.get("text")
    return {**event, "text": mask_identity(body)} if isinstance(body, str) else event
