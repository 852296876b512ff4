"""The office-directory form: its state in the conversation's context, the messages that open
it, leave it or pick an office, and the action that shows what the directory found.

Pure: the pipeline looks the offices up (services/) before the dialogue runs, as it searches the
corpus, and renders `ShowOffices` (bot/office_replies.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from runtime.language import to_simplified
from services.directory import OfficeAnswer, OfficeView

SERVICE = "service_office_directory"

# "where is the exit-entry office in Guangzhou?", "上海出入境办证大厅喺边度？": an office word and
# a where/when/phone word. A question about what to bring to the office is not a directory look-up.
_OFFICE = re.compile(
    r"(出入境|办证|签证|移民|外国人).{0,6}(大厅|机构|办事处|管理局|管理部门|接待|窗口|地点|网点|办证点|受理点|分局)"
    r"|出入境处|移民局|出入境(?=\s*(喺|在)?\s*(边度|哪))"
    r"|(exit[- ]?entry|entry[- ]?exit|immigration|visa|psb)\s+(office|bureau|hall|cent(?:re|er)"
    r"|administration|department)",
    re.IGNORECASE | re.ASCII)
_WHERE = re.compile(
    r"在哪|哪里|哪儿|哪度|喺边|边度|边间|地址|位置|电话|几点|开门|办公时间|怎么去|点去"
    r"|\bwhere\b|\baddress|\blocation|\bphone|\bhours\b|\bopen\b|\bfind\b|\bdirectory\b|\bget to\b",
    re.IGNORECASE | re.ASCII)
_CANCEL = re.compile(r"^\s*(取消|算了|不用了|不要了|退出|唔使喇?|唔要|cancel|quit|stop|never ?mind|"
                     r"forget it|exit)\s*[。.!！]*\s*$", re.IGNORECASE)
# A reply to "which city?" that is only a place name: a few letters or characters, no question.
_PLACE_ONLY = re.compile(r"^[A-Za-z][A-Za-z' -]{1,30}$|^[\u3400-\u9fff]{2,8}$")


class OfficeForm(BaseModel):
    """The form in progress: waiting for a city, or for the pick of one of a city's offices."""

    step: Literal["city", "pick"]
    place: str | None = None


@dataclass(frozen=True)
class ShowOffices:
    """Tell the visitor what the directory found: nothing (the official directory instead),
    one office in full, or several to pick from (`office_id` is the one picked)."""

    answer: OfficeAnswer
    office_id: str | None = None


def asks_for_offices(text: str) -> bool:
    folded = to_simplified(text)
    return bool(_OFFICE.search(folded) and _WHERE.search(folded))


# Any word of an office or of finding one: "成都出入境管理局", "Chengdu exit-entry", "上班时间".
_ANY_OFFICE = re.compile(r"出入境|移民局|管理局|公安局|大厅|办证|exit[- ]?entry|entry[- ]?exit|immigration"
                         r"|bureau|\bpsb\b|\boffices?\b|\bhall\b", re.IGNORECASE | re.ASCII)


def mentions_an_office(text: str) -> bool:
    """The message is about an office (its name, where it is, its hours or phone), not only a
    city: "do I need a visa for a trip to Chengdu?" is not about Chengdu's office."""
    folded = to_simplified(text)
    return bool(_ANY_OFFICE.search(folded) or _WHERE.search(_RELATIVE_WHERE.sub(r"\1", folded)))


# "where" after a place's name relates a clause to it ("moving to Hangzhou where I'll be working"):
# it asks nothing about where anything is.
_RELATIVE_WHERE = re.compile(r"\b([A-Z][a-z]+) where\b(?! (?:is|are|can|do|does|should)\b)", re.ASCII)


def cancels(text: str) -> bool:
    return bool(_CANCEL.match(to_simplified(text)))


def only_a_place(text: str) -> bool:
    return bool(_PLACE_ONLY.match(to_simplified(text).strip().rstrip("。.!！")))


def picked(text: str, answer: OfficeAnswer) -> OfficeView | None:
    """The office a message names: a button press is its name, in the visitor's script."""
    wanted = to_simplified(text).strip().lower()
    return next((o for o in answer.offices if to_simplified(o.name).lower() == wanted), None)
