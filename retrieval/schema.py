"""Pydantic models of one knowledge entry: the contract in docs/knowledge.md."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SECTIONS = (
    "platform",
    "online-services",
    "visas",
    "stay-residence",
    "permanent-residence",
    "visa-free",
    "hmt",
    "passport-exit",
    "offices",
)
Section = Literal[
    "platform",
    "online-services",
    "visas",
    "stay-residence",
    "permanent-residence",
    "visa-free",
    "hmt",
    "passport-exit",
    "offices",
]
ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
MIN_QUESTIONS = 4
# What a source is, as shown to visitors: the legal basis (law, regulation), an official notice
# or service guide (NIA, MPS, MFA), a local government's guide, or a news report (press).
SourceType = Literal["law", "regulation", "notice", "local-guide", "press"]
SOURCE_TYPES: tuple[str, ...] = ("law", "regulation", "notice", "local-guide", "press")
# "第二十九条", "Art. 29", "Arts. 41 and 43"
ARTICLE_PATTERN = r"第[一二三四五六七八九十百零〇\d]+条|\bArts?\. ?\d+"


class _Strict(BaseModel):
    # A misspelt field name must be an error, not a silently ignored key.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


class Bilingual(_Strict):
    zh: str
    en: str

    _check = field_validator("zh", "en")(_not_blank)


class AnswerText(_Strict):
    short: str
    details: str = ""

    @field_validator("short")
    @classmethod
    def _short(cls, value: str) -> str:
        return _not_blank(value)

    @field_validator("details")
    @classmethod
    def _details(cls, value: str) -> str:
        return value.strip()


class BilingualAnswer(_Strict):
    zh: AnswerText
    en: AnswerText


class Questions(_Strict):
    zh: list[str] = Field(min_length=MIN_QUESTIONS)
    en: list[str] = Field(min_length=MIN_QUESTIONS)

    @field_validator("zh", "en", mode="before")
    @classmethod
    def _numbers_as_text(cls, values: object) -> object:
        if isinstance(values, list):
            return [str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in values]
        return values

    @field_validator("zh", "en")
    @classmethod
    def _questions(cls, values: list[str]) -> list[str]:
        cleaned = [_not_blank(v) for v in values]
        seen: set[str] = set()
        for q in cleaned:
            if q.lower() in seen:
                raise ValueError(f"duplicate sample question {q!r}")
            seen.add(q.lower())
        return cleaned


class Source(_Strict):
    title: str
    type: SourceType
    # None: no official address is known; the instrument is cited by title (and article) alone.
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    date: dt.date
    article: str | None = None  # required for a law: which article the answer rests on
    ref: str | None = None

    _check = field_validator("title")(_not_blank)

    @model_validator(mode="after")
    def _law_names_law_and_article(self) -> Source:
        if self.type != "law":
            return self
        if "法" not in self.title and "Law" not in self.title:
            raise ValueError("a law citation must name the law in its title (…法 / … Law)")
        if not self.article or not re.search(ARTICLE_PATTERN, self.article):
            raise ValueError("a law citation needs `article` (e.g. 第二十九条 / Art. 29)")
        return self


class Entry(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    section: Section
    title: Bilingual
    answer: BilingualAnswer
    questions: Questions
    sources: list[Source] = Field(min_length=1)
    time_limited: bool = False
    as_of: dt.date | None = None
    verified: dt.date  # when the facts were last checked against the brief or official sources
    review_by: dt.date  # when they are due to be checked again (retrieval/sources.toml: how soon)
    tags: list[str] = Field(default_factory=list)
    related: list[str] = Field(default_factory=list)
    caveats: Bilingual | None = None

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_as_text(cls, values: object) -> object:
        # `tags: [12367, 2023]` is natural YAML; numbers are tags too.
        if isinstance(values, list):
            return [str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in values]
        return values

    @model_validator(mode="after")
    def _as_of_when_time_limited(self) -> Entry:
        if self.time_limited and self.as_of is None:
            raise ValueError("as_of is required when time_limited is true")
        return self

    @model_validator(mode="after")
    def _review_after_verified(self) -> Entry:
        if self.review_by <= self.verified:
            raise ValueError("review_by must be after verified")
        return self


    def questions_for(self, lang: str) -> list[str]:
        return list(getattr(self.questions, lang))
