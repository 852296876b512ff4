"""The appointment form: its state in the conversation's context, and what one message says
for it (which messages open it, fill or correct a field, confirm, or leave it).

Pure: bot/appointment_flow.py asks the appointment service what is free and books; the reply
texts are bot/appointment_replies.py's.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from bot.dates import Part, parse_clock, parse_date, parse_part
from runtime.language import to_simplified
from services.appointments import PASSPORT, REFERENCE, afternoon
from services.offices import OfficeBook, place_key

SERVICE = "service_appointment"
Field = Literal["service", "city", "office", "date", "time", "name", "passport", "helper",
                "confirm"]

# What each kind of application is called (Simplified, lower case: the message is folded).
_SERVICES = (
    ("residence_permit", r"居留许可|居留证|residence permit|residence"),
    ("stay_permit", r"停留证|stay permit"),
    ("visa_reissue", r"补发|补办|reissu|replace"),
    ("visa_renewal", r"换发|换签|renew"),
    ("visa_extension", r"延期|延长|续签|extend|extension"),
)
_BOOK = re.compile(r"预约|预订|约|book|appointment|reserv|slot")
# "帮我查一下我的居留许可", "please check my residence permit": a look-up (bot/lookup_form.py),
# not a booking, unless it also says book.
_LOOK_UP = re.compile(r"查|check|look ?up|track|status|progress|download")
_WANT = re.compile(r"我想|我要|我需要|帮我|想|i need|i want|i'd like|i would like|i have to"
                   r"|i must|can i book|please")
_QUESTION = re.compile(r"问|怎么|怎样|如何|什么|哪些|吗|呢|多少|几|\?|？|\bhow\b|\bwhat\b|\bwhich\b"
                       r"|\bdo i need\b|\bwhy\b")
_CANCEL = re.compile(r"^\s*(取消|算了|不用了|不要了|退出|唔使喇?|唔要|cancel|quit|stop|never ?mind|"
                     r"forget it|exit)\s*[。.!！]*\s*$", re.IGNORECASE)
_CANCEL_BOOKING = re.compile(r"取消|撤销|cancel")
_RESCHEDULE = re.compile(r"改期|改约|改到|改成|更改|换个?时间|reschedul|change|move")
_YES = re.compile(r"^\s*(确认|确定|是的?|对|好的?|可以|冇问题|confirm|yes|ok(ay)?|sure|book it)"
                  r"\s*[。.!！]*\s*$")
# "my name is Anna Lee", "我叫王小明", "名字是…": a name given outright, at any step.
_NAME = re.compile(r"(?:my name is|name:|我叫|我的名字是|名字是|姓名[:：]?)\s*([^\s,，。.!！?？]"
                   r"[^,，。!！?？\d]{0,40})")
_NAME_ONLY = re.compile(r"^[A-Za-z\u00c0-\u024f][A-Za-z\u00c0-\u024f' .-]{1,40}$"
                        r"|^[\u3400-\u9fff·]{2,12}$")
_RELATIONS = (
    ("mother", r"妈|阿妈|老妈|母亲|\bmother\b|\bmum\b|\bmom\b"),  # 妈妈, 我妈, 妈咪 too
    ("father", r"爸爸|父亲|阿爸|老豆|\bfather\b|\bdad\b"),
    ("child", r"孩子|儿子|女儿|仔|囡|\bchild\b|\bson\b|\bdaughter\b|\bkid\b"),
    ("spouse", r"老婆|老公|妻子|丈夫|太太|\bwife\b|\bhusband\b|\bspouse\b"),
    ("friend", r"朋友|\bfriend\b"),
)
_FOR_SOMEONE = re.compile(r"帮|为|替|给|\bfor my\b|\bon behalf of my\b")
# Whose record a look-up is ("查询我母亲的签证", "check my son's residence permit"): the relation
# right after "my" / 我.
_WHOSE = re.compile(r"(?:\bmy|我嘅|我的|我)\s*(?P<who>[a-z]+|[\u3400-\u9fff]{1,2})")


class AppointmentForm(BaseModel):
    """The booking in progress (mode "book"), or a change to an existing one by reference
    ("reschedule", "cancel"). Stored with the session's context, so a reconnect resumes it."""

    mode: Literal["book", "reschedule", "cancel"] = "book"
    asked: Field | None = None  # the question now pending
    service: str | None = None
    city: str | None = None
    office_id: str | None = None
    date: dt.date | None = None
    part: Part | None = None
    time: str | None = None
    name: str | None = None
    passport: str | None = None
    relationship: str | None = None
    helper: str | None = None
    reference: str | None = None


@dataclass(frozen=True)
class Said:
    """What one message says for the form; None: it does not say it."""

    service: str | None = None
    city: str | None = None
    date: dt.date | None = None
    part: Part | None = None
    time: str | None = None
    name: str | None = None
    passport: str | None = None
    relationship: str | None = None
    reference: str | None = None
    cancel: bool = False
    confirm: bool = False
    free_text: str | None = None  # the whole message, for the name / helper / office question

    def fills(self, besides_service: bool = False) -> bool:
        said = (self.city, self.date, self.part, self.time, self.name, self.passport,
                self.relationship, self.reference)
        return any(v is not None for v in said) or (not besides_service and bool(self.service))


def _folded(text: str) -> str:
    return to_simplified(text).lower()


def service_in(text: str) -> str | None:
    folded = _folded(text)
    return next((key for key, pattern in _SERVICES if re.search(pattern, folded)), None)


def reference_in(text: str) -> str | None:
    match = re.search(r"\b" + REFERENCE.pattern + r"\b", text.upper())
    return match.group(0) if match else None


def opens(text: str, today: dt.date) -> AppointmentForm | None:
    """The form a message opens: a booking ("I need to extend my visa in Chengdu next Tuesday",
    "我想预约…"), or a change to a booking it quotes by reference ("cancel my appointment
    AP…", "改期 AP… 到周五"). A question about booking ("how do I book?") opens nothing: the
    corpus answers it."""
    folded = _folded(text)
    reference = reference_in(text)
    if reference is not None:
        if _CANCEL_BOOKING.search(folded):
            return AppointmentForm(mode="cancel", reference=reference)
        if _RESCHEDULE.search(folded):
            return AppointmentForm(mode="reschedule", reference=reference)
        return None
    if _QUESTION.search(folded):
        return None
    service, booking = service_in(text), bool(_BOOK.search(folded))
    if not booking and _LOOK_UP.search(folded):
        return None
    dated = parse_date(text, today) is not None
    wants = bool(_WANT.search(folded)) or dated
    # A procedure wished for without a booking word or a day ("我的L visa快到期，想extend一下",
    # "I want to extend my visa") asks how it is done: the corpus answers it. A day makes it a
    # booking ("I need to extend my visa in Chengdu next Tuesday").
    if (booking or (service and dated)) and wants:
        return AppointmentForm()
    return None


def read(text: str, form: AppointmentForm, today: dt.date, book: OfficeBook) -> Said:
    folded = _folded(text)
    name_match = _NAME.search(text)
    passport = _passport_in(text, form)
    return Said(
        service=service_in(text), city=_city_in(text, book),
        date=parse_date(text, today), part=parse_part(text), time=parse_clock(text),
        name=name_match.group(1).strip() if name_match else None, passport=passport,
        relationship=relationship_in(text), reference=reference_in(text),
        cancel=bool(_CANCEL.match(folded)), confirm=bool(_YES.match(folded)),
        free_text=text.strip())


def _passport_in(text: str, form: AppointmentForm) -> str | None:
    """A passport number: any token that looks like one while the form asks for it; otherwise
    only one named as such ("passport E12345678", "护照号E12345678")."""
    tokens = (t.upper() for t in re.findall(r"[A-Za-z0-9]{5,20}", text))
    candidates = [t for t in tokens if PASSPORT.fullmatch(t) and not REFERENCE.fullmatch(t)]
    if not candidates:
        return None
    if form.asked == "passport" or re.search(r"passport|护照|護照", text, re.IGNORECASE):
        return candidates[0]
    return None


def _city_in(text: str, book: OfficeBook) -> str | None:
    """A city of the office records named in the message, or the whole message when it is
    only a place name the records know ("Shanghai", "广州市")."""
    folded = _folded(text)
    for office in book.offices:
        zh, en = office.city.zh, office.city.en.lower()
        if zh in folded or re.search(rf"\b{re.escape(en)}\b", folded):
            return office.city.zh
    if book.find(text.strip()):
        key = place_key(text)
        return key or None
    return None


def name_answer(said: Said) -> str | None:
    """The reply to "what is the applicant's name?": the name given outright, or the whole
    message when it reads as a name (letters or characters, no digits, no question)."""
    return said.name or name_in(said.free_text or "")


def name_in(text: str) -> str | None:
    """A name given outright ("my name is Anna Lee", "我叫王小明"), or the whole message when it
    reads as one."""
    given = _NAME.search(text)
    if given:
        return given.group(1).strip()
    text = text.strip().rstrip("。.!！")
    return text if _NAME_ONLY.match(text) else None


def relationship_in(text: str, whose: bool = False) -> str | None:
    """Whom the visitor acts for ("帮我妈妈预约", "for my mother"): mother, father, child, spouse
    or friend. ``whose``: also a record named as theirs ("我母亲的签证", "my son's permit")."""
    folded = _folded(text)
    if _FOR_SOMEONE.search(folded):
        found = next((key for key, pattern in _RELATIONS if re.search(pattern, folded)), None)
        if found:
            return found
    if not whose:
        return None
    for match in _WHOSE.finditer(folded):
        who = match["who"]
        found = next((key for key, pattern in _RELATIONS if re.match(pattern, who)), None)
        if found:
            return found
    return None


def apply(form: AppointmentForm, said: Said) -> AppointmentForm:
    """The form with what the message says; a changed office or day drops the time chosen,
    and "改成下午" drops a morning time (the afternoon slots are offered instead)."""
    changes: dict[str, object] = {}
    if said.service:
        changes["service"] = said.service
    if said.city and said.city != form.city:
        changes.update(city=said.city, office_id=None, time=None)
    if said.date and said.date != form.date:
        changes.update(date=said.date, time=None)
    if said.part:
        changes["part"] = said.part
        if form.time and afternoon(form.time) != (said.part == "pm"):
            changes["time"] = None
    if said.time:
        changes["time"] = said.time
    if said.passport:
        changes["passport"] = said.passport
    if said.relationship:
        changes["relationship"] = said.relationship
    if form.asked in ("name", "helper") and not changes:
        answer = name_answer(said)
        if answer is not None:
            changes["name" if form.asked == "name" else "helper"] = answer
    elif said.name:
        changes["name"] = said.name
    return form.model_copy(update=changes)


def looks_like_question(text: str) -> bool:
    return bool(_QUESTION.search(_folded(text)))
