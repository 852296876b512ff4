"""What agents are shown of a visitor's personal details: one rule for every console view of a
conversation (the queue list's last message, the chat card's summary, the transcript and the
live messages, the form panel, agent assist's query, the visitor's tickets, search results).
Numbers and dates are masked (services/privacy.py) unless the visitor agreed that agents may
see them (the bot asks: bot/consent.py; the state is the context's ``agent_consent``); not
asked, refused or withdrawn, they stay masked.

The consent's state follows one rule, ``consent_after``: whatever the visitor says of it last
holds, asked or not, to the bot or to an agent. Each change is recorded as an event of the
conversation (a reply whose ``meta.kind`` is ``consent``), which is also how the consoles on other
server processes learn of it (handoff/notifier.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from conversation.events import Stored
from services.consent import ConsentWord
from services.privacy import mask_identity, masked_events

Consent = Literal["granted", "refused", "withdrawn"]


def consent_after(before: Consent | None, word: ConsentWord) -> Consent:
    """The consent once the visitor said ``word``: a yes or a grant gives it (after a no or a
    withdrawal too); a no refuses it; a withdrawal takes back what was given, and refuses
    ahead what was not."""
    if word in ("yes", "grant"):
        return "granted"
    if word == "withdraw" and before in ("granted", "withdrawn"):
        return "withdrawn"
    return "refused"


def consent_of(value: object) -> Consent | None:
    """A stored context's ``agent_consent``: a state, or the yes / no stored before states."""
    if isinstance(value, bool):
        return "granted" if value else "refused"
    return value if value in get_args(Consent) else None  # type: ignore[return-value]


@dataclass(frozen=True)
class Disclosure:
    consent: Consent | None = None  # None: never asked nor given

    @classmethod
    def of(cls, context: dict) -> Disclosure:
        return cls(consent_of(context.get("agent_consent")))

    @property
    def agreed(self) -> bool | None:
        """The consoles' yes / no / not asked."""
        return None if self.consent is None else self.consent == "granted"

    @property
    def unmasked(self) -> bool:
        return self.consent == "granted"

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
