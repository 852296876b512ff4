"""The personal look-up form (progress of an application, visa / permit information, permanent-
resident ID card information, passport information with its e-document): its state in the
conversation's context, the messages that open it, and what each message fills, corrects,
cancels or asks on the way.

Pure: the dialogue (bot/dialogue.py) calls `lookup_step` and returns its actions; the pipeline
runs a `LookUp` against the records (bot/lookups.py) and bot/lookup_replies.py says it all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from pydantic import BaseModel

from bot.appointment_form import name_in, relationship_in
from bot.controls import Control
from bot.handoff_cues import asks_for_person, sounds_like_complaint
from bot.office_form import cancels
from runtime.language import to_simplified
from services.appointments import Assisted
from services.records import NUMBER_PATTERNS, PASSPORT_PATTERN, SERVICE_KINDS, Identity, Kind

Field = Literal["number", "passport", "birth", "helper"]
FIELDS: tuple[Field, ...] = ("number", "passport", "birth")  # the identity: the applicant's

# What a typed request names: a look-up verb, then (in the same clause, a few words on) the
# visitor's own record: "查询我的永居证信息", "我想查下我嘅簽證", "check the progress of my
# application". A question that only mentions "my visa" ("I arrived on a Z visa, how long do I
# have to get my residence permit?") is a question, not a look-up.
_LOOK_ZH = re.compile(r"查询|查詢|查下|查吓|查一下|查查|查看|帮我查|幫我查|下载|获取|开具|打印|攞|拎")
_LOOK_EN = re.compile(r"\b(check|look up|lookup|track|view|show me|download|print)\b", re.IGNORECASE)
_MY = re.compile(r"\bmy\b", re.IGNORECASE)
# The e-document is only had by asking for it: "I need the e-document for my passport details".
_WANTS_DOCUMENT = re.compile(r"\b(need|want|get|obtain)\b.{0,12}\be-?document", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[，。？?！!,.;；]")
_SERVICE_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("service_progress", re.compile(r"进度|進度|办到哪|办到边|\bprogress\b|application status"
                                    r"|status of my application", re.IGNORECASE)),
    ("service_passport_info", re.compile(r"护照信息|护照资料|电子文书|passport (info|details|e-?doc)"
                                         r"|e-?document", re.IGNORECASE)),
    ("service_pr_card_info", re.compile(r"永居证|永久居留身份证|永居身份证|permanent resident(ce)?"
                                        r"( id)? card|\bpr card", re.IGNORECASE)),
    ("service_visa_info", re.compile(r"签证|居留许可|停留证件|\bvisa\b|residence permit"
                                     r"|\bpermit\b", re.IGNORECASE)),
)
_BOUNDED = r"(?<![A-Z0-9]){}(?![A-Z0-9])"
_MONTHS = {m: n for n, m in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_DATES = (
    re.compile(r"(?P<y>(19|20)\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})"),
    re.compile(r"(?P<d>\d{1,2})(st|nd|rd|th)?\s+(?P<mon>[a-z]{3})[a-z]*\.?,?\s+(?P<y>(19|20)\d{2})"),
    re.compile(r"(?<![a-z])(?P<mon>[a-z]{3})[a-z]*\.?\s+(?P<d>\d{1,2})(st|nd|rd|th)?,?\s+(?P<y>(19|20)\d{2})"),
    re.compile(r"^(?P<y>(19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})$"),
)


class LookupForm(BaseModel):
    """The form in progress. The passport number and birth date wait here (in the session's
    context, purged with the conversation) only until the check runs."""

    service: str
    number: str | None = None
    passport: str | None = None
    birth: str | None = None  # ISO date
    # An assisted look-up: the visitor asks for a family member or friend ("查询我母亲的签证进度"),
    # whose documents the check is of; the helper's own name is asked last and recorded.
    relationship: str | None = None
    helper: str | None = None
    asking: Field = "number"

    @property
    def kind(self) -> Kind:
        return SERVICE_KINDS[self.service]

    def missing(self) -> Field | None:
        identity = next((f for f in FIELDS if getattr(self, f) is None), None)
        if identity is None and self.relationship and self.helper is None:
            return "helper"
        return identity

    def assisted(self) -> Assisted | None:
        if self.relationship and self.helper:
            return Assisted(relationship=self.relationship, helper_name=self.helper)
        return None


@dataclass(frozen=True)
class LookupAsk:
    """Ask for a field; ``problem`` says why the last answer was not taken (a bad format, a date
    in the future); ``noted`` the fields this message gave or corrected."""

    service: str
    field: Field
    problem: str | None = None
    noted: tuple[Field, ...] = ()
    first: bool = False  # the form just opened: say what the check needs and why
    relationship: str | None = None  # asking for a family member's or friend's documents


@dataclass(frozen=True)
class LookUp:
    """Check the identity and show the record."""

    service: str
    identity: Identity
    assisted: Assisted | None = None  # recorded with the inquiry (services/inquiries.py)


@dataclass(frozen=True)
class LookupNotice:
    key: Literal["cancelled"]
    service: str


LookupAction = LookupAsk | LookUp | LookupNotice


@dataclass
class Step:
    """What a message did to the form: the actions, the form afterwards, and whether the
    dialogue should first answer the message as a question."""

    actions: list[LookupAction] = field(default_factory=list)
    form: LookupForm | None = None
    answer_first: bool = False


def opened_by(text: str, control: Control | None) -> str | None:
    """The look-up service a menu choice or a typed request opens."""
    if control is not None:
        return control.value if control.kind == "service" and control.value in SERVICE_KINDS else None
    if _leaves_for_person(text):
        return None
    folded = to_simplified(text)
    for service, words in _SERVICE_WORDS:
        if not words.search(folded):
            continue
        named = _number(folded.upper(), SERVICE_KINDS[service]) is not None
        if named or _looks_up(folded, words) or (
                service == "service_passport_info" and _WANTS_DOCUMENT.search(folded)):
            return service
    return None


def _looks_up(folded: str, words: re.Pattern[str]) -> bool:
    """A look-up verb shortly before the service's word, in the same clause (in English with
    "my" in that clause too)."""
    for service in words.finditer(folded):
        before = _CLAUSE_END.split(folded[:service.start()])[-1]
        after = _CLAUSE_END.split(folded[service.start():])[0]
        if _LOOK_ZH.search(before[-12:]):
            return True
        if _LOOK_EN.search(before[-40:]) and _MY.search(before + after):
            return True
    return False


def _leaves_for_person(text: str) -> bool:
    folded = to_simplified(text)
    return asks_for_person(folded) or sounds_like_complaint(folded)


def lookup_step(form: LookupForm | None, text: str, control: Control | None,
                answerable: bool) -> Step | None:
    """The form's move for one message; None when the message is not for the form (another menu
    choice, or a question while no form is open)."""
    opening = opened_by(text, control)
    if opening is not None:
        if form is None or opening != form.service:  # the same choice again keeps what was given
            form = LookupForm(service=opening)
    elif form is None or control is not None:
        return None
    elif _leaves_for_person(text):
        return None  # the handoff takes it; the agent sees what was given (bot/form_summary.py)
    elif cancels(text):
        return Step([LookupNotice("cancelled", form.service)], None)
    form = form.model_copy()
    noted, problem = _fill(form, text)
    if form.missing() is None and problem is None:
        assert form.number and form.passport and form.birth
        identity = Identity(number=form.number, passport=form.passport,
                            birth=date.fromisoformat(form.birth))
        return Step([LookUp(form.service, identity, form.assisted())], None)
    wanted = form.missing() or form.asking
    form.asking = wanted
    if not noted and problem is None and opening is None:
        # Nothing for the form: a question asked midway is answered, then the question repeats.
        return Step([LookupAsk(form.service, wanted, relationship=form.relationship)], form,
                    answer_first=answerable)
    # A typed question that opens the form ("how can I check my visa status online?") and that
    # the corpus answers gets that answer first, as the office directory does: the visitor may
    # have wanted the how-to, not the look-up.
    typed_question = opening is not None and control is None and not noted
    return Step([LookupAsk(form.service, wanted, problem, tuple(noted), first=opening is not None,
                           relationship=form.relationship)],
                form, answer_first=answerable and typed_question)


def _fill(form: LookupForm, text: str) -> tuple[list[Field], str | None]:
    """Take every field the message gives (a later value corrects an earlier one); the problem
    with the field being asked when the message tries but fails to give it."""
    upper = to_simplified(text).upper()
    noted: list[Field] = []
    form.relationship = relationship_in(text, whose=True) or form.relationship
    if form.asking == "helper":
        helper = name_in(text)
        if helper is None:  # a question midway is answered; anything else is asked again
            return noted, None if re.search(r"[?？]", text) else "bad_helper"
        form.helper = helper
        return ["helper"], None
    number = _number(upper, form.kind)
    if number:
        form.number = number
        noted.append("number")
    passport = next((p for p in _all(PASSPORT_PATTERN, upper) if p != number), None)
    if passport:
        form.passport = passport
        noted.append("passport")
    birth, problem = _birth(text)
    if birth:
        form.birth = birth
        noted.append("birth")
    if noted or problem:
        return noted, problem
    if re.search(r"\d", text):  # digits, but not in a shape we take: say what is expected
        return noted, f"bad_{form.asking}"
    return noted, None


def _number(upper: str, kind: Kind) -> str | None:
    return next(iter(_all(NUMBER_PATTERNS[kind], upper)), None)


def _all(pattern: re.Pattern[str], upper: str) -> list[str]:
    return re.findall(_BOUNDED.format(pattern.pattern), upper)


def _birth(text: str) -> tuple[str | None, str | None]:
    folded = to_simplified(text).strip().lower()
    for pattern in _DATES:
        found = pattern.search(folded)
        if found is None:
            continue
        parts = found.groupdict()
        month = _MONTHS.get(parts["mon"]) if parts.get("mon") else int(parts["m"])
        try:
            day = date(int(parts["y"]), month or 0, int(parts["d"]))
        except ValueError:
            return None, "bad_birth"
        return (day.isoformat(), None) if day < date.today() else (None, "future_birth")
    return None, None
