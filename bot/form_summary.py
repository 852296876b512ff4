"""What an agent is shown of a service form the visitor left for a person: which service, which
fields were given and which was being asked. Kept in the context as ``Context.form_at_handoff``
from the turn the visitor asks for a person until the bot talks with them again; the agent
console reads it from there (handoff/views.py). Each field carries its value and the value
masked (passport and document numbers partly hidden, a date of birth only "given"); the console
is sent the masked one unless the visitor agreed (handoff/disclosure.py). The context holds the
form itself in full already, and is purged with the conversation."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from bot.appointment_form import SERVICE as APPOINTMENT_SERVICE
from bot.appointment_form import AppointmentForm
from bot.lookup_form import LookupForm
from bot.texts import ONLINE_SERVICES
from services.appointments import mask_passport, service_name
from services.documents import mask
from services.offices import Lang

LABELS = {
    "service": {"zh": "业务", "en": "Application"}, "city": {"zh": "城市", "en": "City"},
    "office": {"zh": "办证地点", "en": "Office"}, "date": {"zh": "日期", "en": "Date"},
    "time": {"zh": "时间", "en": "Time"}, "name": {"zh": "申请人", "en": "Applicant"},
    "passport": {"zh": "护照号码", "en": "Passport number"},
    "relationship": {"zh": "为谁预约", "en": "Booking for"},
    "helper": {"zh": "帮办人", "en": "Helper"}, "reference": {"zh": "预约号", "en": "Reference"},
    "confirm": {"zh": "确认", "en": "Confirmation"},
    "number": {"zh": "证件号码", "en": "Document number"},
    "birth": {"zh": "出生日期", "en": "Date of birth"},
    "for": {"zh": "代谁查询", "en": "Looking up for"},
}
GIVEN = {"zh": "已填写", "en": "given"}

OfficeName = Callable[[str | None, Lang], str]


class FormField(BaseModel):
    name: str
    label: dict[str, str]  # {"zh", "en"}
    value: str
    masked: str | None = None  # None: shown as it is (a context stored before masked values)


class FormSummary(BaseModel):
    service: str  # the menu choice: service_appointment, service_progress, …
    name: dict[str, str]  # {"zh", "en"}
    asking: dict[str, str] | None  # {"zh", "en"}: the question pending when the visitor left
    fields: list[FormField]


def summarise(appointment: AppointmentForm | None, lookup: LookupForm | None, lang: str,
              office_name: OfficeName) -> FormSummary | None:
    """The open form (the booking first: opening it closes a look-up), or None."""
    if appointment is not None:
        return _appointment(appointment, "en" if lang == "en" else "zh", office_name)
    if lookup is not None:
        return _lookup(lookup)
    return None


def _appointment(form: AppointmentForm, lang: Lang, office_name: OfficeName) -> FormSummary:
    shown = {
        "service": service_name(form.service, lang) if form.service else None,
        "city": form.city, "office": office_name(form.office_id, lang) or form.office_id,
        "date": form.date.isoformat() if form.date else None, "time": form.time,
        "name": form.name, "passport": form.passport,
        "relationship": form.relationship, "helper": form.helper, "reference": form.reference,
    }
    return FormSummary(service=APPOINTMENT_SERVICE, name=ONLINE_SERVICES[APPOINTMENT_SERVICE],
                       asking=LABELS.get(form.asked or ""), fields=_fields(shown, MASK_BOOKING))


def _lookup(form: LookupForm) -> FormSummary:
    shown = {"number": form.number, "passport": form.passport,
             "birth": form.birth,
             "for": form.relationship, "helper": form.helper}
    return FormSummary(service=form.service, name=ONLINE_SERVICES[form.service],
                       asking=LABELS[form.asking], fields=_fields(shown, MASK_LOOKUP))


Masks = dict[str, Callable[[str], str]]
# The fields agents see masked without the visitor's consent, and how.
MASK_BOOKING: Masks = {"passport": mask_passport}
MASK_LOOKUP: Masks = {"number": lambda v: mask(v, 3), "passport": mask,
                      "birth": lambda v: f"{GIVEN['zh']} / {GIVEN['en']}"}


def _fields(shown: dict[str, str | None], masks: Masks) -> list[FormField]:
    return [FormField(name=k, label=LABELS[k], value=v, masked=masks[k](v) if k in masks else v)
            for k, v in shown.items() if v]
