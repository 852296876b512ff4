"""Render an entry's answer in the visitor's language and script."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, TypedDict

from retrieval.schema import Entry
from retrieval.text import Lang, Script, TextAnalyzer

Decision = Literal["answer", "clarify", "decline"]
SCRIPTS_BY_LANG: dict[str, tuple[str, ...]] = {"zh": ("zh-Hans", "zh-Hant", "yue"), "en": ("en",)}


class SourceLink(TypedDict):
    title: str
    url: str
    ref: str  # the instrument's or notice's date, YYYY-MM-DD (or the entry's own `ref`)


class RelatedLink(TypedDict):
    id: str
    title: str


@dataclass(frozen=True)
class Answer:
    entry_id: str
    title: str
    short: str
    details: str
    text: str  # title, short answer, details and caveats, ready to show
    sources: list[SourceLink]
    related: list[RelatedLink]
    as_of: dt.date | None
    lang: Lang
    script: Script


def render_answer(
    entry: Entry, entries: dict[str, Entry], analyzer: TextAnalyzer, lang: Lang, script: Script | None
) -> Answer:
    if lang not in SCRIPTS_BY_LANG:
        raise ValueError(f"lang must be 'zh' or 'en', not {lang!r}")
    script = script or SCRIPTS_BY_LANG[lang][0]
    if script not in SCRIPTS_BY_LANG[lang]:
        raise ValueError(f"script {script!r} does not belong to lang {lang!r}")

    def out(text: str) -> str:
        return analyzer.to_script(text, script)  # Simplified source → visitor's script

    body = getattr(entry.answer, lang)
    details = body.details
    if entry.caveats is not None:
        details = f"{details}\n\n{getattr(entry.caveats, lang)}".strip()
    title, short, details = out(getattr(entry.title, lang)), out(body.short), out(details)
    return Answer(
        entry_id=entry.id,
        title=title,
        short=short,
        details=details,
        text="\n\n".join(p for p in (title, short, details) if p),
        sources=[
            SourceLink(title=s.title, url=s.url, ref=s.ref or s.date.isoformat()) for s in entry.sources
        ],
        related=[
            RelatedLink(id=r, title=out(getattr(entries[r].title, lang)))
            for r in entry.related
            if r in entries
        ],
        as_of=entry.as_of,
        lang=lang,
        script=script,
    )
