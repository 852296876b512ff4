"""What agents are shown of a visitor's personal details: one rule for every console view of a
conversation (the queue list's last message, the chat card's summary, the transcript and the
live messages, the form panel, agent assist's query, the visitor's tickets, search results).
Numbers and dates are masked (services/privacy.py) unless the visitor agreed that agents may
see them (the bot asks: bot/consent.py; the answer is the context's ``agent_consent``); not
asked, declined or withdrawn, they stay masked."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from conversation.events import Stored
from services.privacy import mask_identity, masked_events


@dataclass(frozen=True)
class Disclosure:
    agreed: bool | None = None  # the visitor's answer: yes, no, or not asked

    @classmethod
    def of(cls, context: dict) -> Disclosure:
        agreed = context.get("agent_consent")
        return cls(agreed if isinstance(agreed, bool) else None)

    @property
    def unmasked(self) -> bool:
        return self.agreed is True

    def text(self, text: str | None) -> str | None:
        return text if self.unmasked or not text else mask_identity(text)

    def events(self, events: Iterable[dict]) -> list[dict]:
        """A transcript: the visitor's answers to the bot's questions for a passport number
        are masked whatever their shape (services/privacy.py)."""
        return list(events) if self.unmasked else masked_events(events)

    def event(self, stored: Stored) -> dict[str, Any]:
        """One stored event as a console shows it live."""
        return self.events([stored.to_wire()])[0]

    def form(self, form: object) -> dict[str, Any] | None:
        """The service form left for a person (bot/form_summary.py): each field's value, or
        its masked one; the other never leaves the server."""
        if not isinstance(form, dict):
            return None
        fields = [self._field(f) for f in form.get("fields", []) if isinstance(f, dict)]
        return {**form, "fields": fields}

    def _field(self, field: dict) -> dict[str, Any]:
        masked = field.get("masked")
        value = field.get("value") if self.unmasked or masked is None else masked
        return {k: v for k, v in {**field, "value": value}.items() if k != "masked"}

    def ticket(self, ticket: dict[str, Any]) -> dict[str, Any]:
        return {**ticket, "text": self.text(ticket.get("text"))}
