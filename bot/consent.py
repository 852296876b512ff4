"""The bot's side of whether the agent may see a visitor's details unmasked. Agents see identity
numbers and dates masked (services/privacy.py) unless the visitor agrees: a visitor who asks for
a person in the middle of a booking or a look-up, or after giving such details anywhere in the
chat, is first asked whether the agent may see them; the answer is stored with the conversation
(`Context.agent_consent`), the handoff then goes on as asked, and every console view follows it
(handoff/disclosure.py, whose one rule also turns a later grant or withdrawal into the new state).
What counts as a yes, a no, a grant or a withdrawal: services/consent.py."""

from __future__ import annotations

from bot.dialogue import Context
from bot.frames import Reply
from handoff.disclosure import Consent
from runtime.language import Script, to_script
from services.consent import ACK, ASK, NO, YES
from services.privacy import mask_identity


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "zh"


def ask_reply(lang: str, script: Script) -> Reply:
    lang = _lang(lang)
    quick = [{"label": to_script(t[lang], script), "value": to_script(t[lang], script)} for t in (YES, NO)]
    return Reply(sender="bot", text=to_script(ASK[lang], script), lang=lang, script=script,
                 sources=[], quick_replies=quick, meta={"kind": "consent_ask"})


def ack_reply(consent: Consent, lang: str, script: Script) -> Reply:
    """The consent's new state, said (recorded with the conversation as this reply)."""
    lang, agreed = _lang(lang), consent == "granted"
    return Reply(sender="bot", text=to_script(ACK[agreed][lang], script), lang=lang, script=script,
                 sources=[], quick_replies=[],
                 meta={"kind": "consent", "agreed": agreed, "consent": consent})


def gives_details(text: str, ctx: Context) -> bool:
    """Whether this message, or the forms it filled, holds what agents are shown masked: a
    document or passport number or a date typed, a look-up's identity, a booking's applicant. The
    office directory's form is no such form: it holds a city or a province, nothing personal."""
    lookup, booking = ctx.lookup_form, ctx.appointment_form
    return (mask_identity(text) != text
            or (lookup is not None and bool(lookup.number or lookup.passport or lookup.birth))
            or (booking is not None and bool(booking.passport or booking.name))
            or bool(ctx.appointments))
