"""Render an entry's answer in the visitor's language and script."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypedDict

from retrieval.schema import Entry, Source
from retrieval.text import TextAnalyzer
from runtime.language import Lang, Script

Decision = Literal["answer", "clarify", "decline"]
SCRIPTS_BY_LANG: dict[Lang, tuple[Script, ...]] = {"zh": ("zh-Hans", "zh-Hant", "yue"), "en": ("en",)}


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
    short: str  # at most two sentences (the rest moves to details), plus the "as of" date
    details: str  # the small markup of docs/protocol.md: paragraphs, "- " bullets, "1. " steps
    text: str  # title, the whole short answer, details and caveats: plain text, ready to show
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
    short, more = lead_sentences(body.short, lang)
    date = as_of_note(entry.as_of, lang) if entry.as_of is not None else ""
    # Time-limited policies change at short notice: the date goes with the short answer, which is
    # always shown.
    whole, short = out(f"{body.short.strip()}{date}"), out(f"{short}{date}")
    title, details = out(getattr(entry.title, lang)), out(details)
    return Answer(
        entry_id=entry.id,
        title=title,
        short=short,
        details="\n\n".join(p for p in (out(more) if more else "", details) if p),
        text="\n\n".join(p for p in (title, whole, details) if p),
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


# Where a sentence ends: Chinese 。！？ (and closing quotes or brackets after them); English . ! ?
# followed by a space and a capital, digit or opening quote, unless the word before the full stop is
# an abbreviation ("e.g.", "No. 5", "Art. 29") or a single letter (an initial, "visa Q. ").
_ZH_END = re.compile(r"[。！？!?][”’」』\"')）]*")
_EN_END = re.compile(r"[.!?][\"'”’)]*(?=\s+[\"'“‘(]?[A-Z0-9])")
_EN_ABBREVIATIONS = frozenset(
    "e.g i.e etc no nos art arts mr mrs ms dr st vs approx incl u.s a.m p.m para ch cf fig "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split())


def lead_sentences(text: str, lang: Lang, n: int = 2) -> tuple[str, str]:
    """Splits an answer's short text after its ``n``-th sentence: (the first ``n`` sentences, the
    rest). The lead is what a phone shows before anything is expanded; the rest goes to details."""
    text = text.strip()
    ends: list[int] = []
    if lang == "zh":
        ends = [m.end() for m in _ZH_END.finditer(text)]
    else:
        for m in _EN_END.finditer(text):
            if text[m.start()] == ".":
                word = re.search(r"([A-Za-z.]+)$", text[: m.start()])
                w = word.group(1).lower() if word else ""
                if w in _EN_ABBREVIATIONS or (len(w) == 1 and w.isalpha()):
                    continue
            ends.append(m.end())
    ends = [e for e in ends if text[e:].strip()]
    if len(ends) < n:
        return text, ""
    return text[: ends[n - 1]].rstrip(), text[ends[n - 1]:].strip()


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
