"""Render an entry's answer in the visitor's language and script."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypedDict

from retrieval.schema import Entry, Source
from retrieval.text import Lang, Script, TextAnalyzer

Decision = Literal["answer", "clarify", "decline"]
SCRIPTS_BY_LANG: dict[str, tuple[str, ...]] = {"zh": ("zh-Hans", "zh-Hant", "yue"), "en": ("en",)}


class SourceLink(TypedDict):
    title: str
    url: str | None  # None: cited by title (and article), no official address known
    type: str  # law | regulation | notice | local-guide | press
    ref: str  # the article, or the date (press: "news report, date"); or the source's own `ref`


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
    short = body.short
    if entry.as_of is not None:
        # Time-limited policies change at short notice: the date goes with the short answer,
        # which is always shown.
        short = f"{short}{as_of_note(entry.as_of, lang)}"
    title, short, details = out(getattr(entry.title, lang)), out(short), out(details)
    return Answer(
        entry_id=entry.id,
        title=title,
        short=short,
        details=details,
        text="\n\n".join(p for p in (title, short, details) if p),
        sources=[source_link(s, lang, out) for s in entry.sources],
        related=[
            RelatedLink(id=r, title=out(getattr(entries[r].title, lang)))
            for r in entry.related
            if r in entries
        ],
        as_of=entry.as_of,
        lang=lang,
        script=script,
    )


def as_of_note(date: dt.date, lang: Lang) -> str:
    """Appended to a time-limited answer's short text: "（截至2026年2月16日）" / " (as of 16 Feb 2026)"."""
    if lang == "zh":
        return f"（截至{date.year}年{date.month}月{date.day}日）"
    return f" (as of {date.day} {_MONTHS[date.month - 1]} {date.year})"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def source_link(source: Source, lang: Lang, out: Callable[[str], str]) -> SourceLink:
    """``out`` converts Simplified Chinese to the visitor's script (titles are bilingual: the
    Chinese half is converted, the English half is left as it is)."""
    ref = source.ref or source.article or source.date.isoformat()
    if source.type == "press":
        # A news report is never the legal source: say so next to it.
        ref = out(f"新闻报道 {ref}") if lang == "zh" else f"news report, {ref}"
    return SourceLink(title=out(source.title), url=source.url, type=source.type, ref=ref)
