"""Service guides: for one procedure, what to bring, what it requires, how it goes and what it
costs, taken from the knowledge corpus (knowledge/entries) and nothing else.

A guide is a list of corpus entries (knowledge/guides.yaml, which operators edit); each entry's
details are lines "Label: text" (English) or "标签：text" (Chinese), with "- item" lines under a
label. The guide keeps every line
as the corpus states it, with the entry's official sources and its "as of" date; the lines whose
label names documents become the checklist's tick boxes, one per item. Nothing is added: a
procedure whose entries state no fee has no fee line.

`services` sits beside `retrieval` (import-linter), so the entries are read here from the same
YAML files rather than through the retriever."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict

from runtime.language import Script, to_script, to_simplified

ENTRIES_DIR = Path(__file__).resolve().parent.parent / "knowledge" / "entries"
Lang = Literal["zh", "en"]
Kind = Literal["materials", "fees", "procedure", "other"]

GUIDES_FILE = ENTRIES_DIR.parent / "guides.yaml"
# A guide's id is part of its download path and of the OpenAPI contract: a plain slug.
_GUIDE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
Catalogue = Mapping[str, tuple[str, ...]]


class CatalogueError(ValueError):
    """knowledge/guides.yaml is not a mapping of guide ids to existing corpus entries."""


def load_catalogue(path: Path = GUIDES_FILE) -> Catalogue:
    """Which entries make each guide (the procedure's own entry first), checked against the
    corpus so that a mistyped entry stops the start with its guide named, not a visitor's
    download."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise CatalogueError(f"{path}: cannot be read as YAML ({err})") from None
    if not isinstance(raw, dict) or not raw:
        raise CatalogueError(f"{path}: expected a mapping of guide ids to lists of entry ids")
    catalogue: dict[str, tuple[str, ...]] = {}
    for guide_id, entries in raw.items():
        catalogue[str(guide_id)] = _checked(path, guide_id, entries)
    return MappingProxyType(catalogue)


def _checked(path: Path, guide_id: object, entries: object) -> tuple[str, ...]:
    if not isinstance(guide_id, str) or not _GUIDE_ID.match(guide_id):
        raise CatalogueError(f"{path}: guide id {guide_id!r} must be lower-case words joined by '-'")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, str) for e in entries):
        raise CatalogueError(f"{path}: guide {guide_id!r} must list one or more entry ids")
    missing = [e for e in entries if _entry_file(e) is None]
    if missing:
        raise CatalogueError(f"{path}: guide {guide_id!r} names entries that are not in "
                             f"{ENTRIES_DIR}: {', '.join(missing)}")
    return tuple(entries)


@cache
def default_catalogue() -> Catalogue:
    return load_catalogue()


# A line's label decides its part of the guide ("Documents", "材料", "Have ready", "要准备"...).
_KINDS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    ("fees", re.compile(r"\bfees?\b|收费|费用|申请费|证件费", re.IGNORECASE)),
    ("materials", re.compile(r"document|have ready|^bring$|材料|要准备|^需要$", re.IGNORECASE)),
    ("procedure", re.compile(r"where|deadline|procedure|step|at the port|time|processing|"
                             r"accepted|在哪里|期限|办理|第.步|在口岸|时限|受理", re.IGNORECASE)),
)
# A label is short and no sentence: "Fees (Suizhou government table, …):" is one, "… 12367. Then: …" not.
_LABEL = re.compile(r"^(?P<label>[^:：。]{1,100}?)[:：]\s*(?P<text>.*)$")
_ITEMS = re.compile(r"[;；]\s*")


class Source(BaseModel):
    """An official source as the corpus cites it (a law's article, a notice, a local guide)."""

    model_config = ConfigDict(frozen=True)
    title: str
    url: str | None = None  # None: cited by title (and article) only
    type: str
    article: str | None = None
    date: str | None = None


class Section(BaseModel):
    """One labelled line of an entry (with its "- item" lines): checked items for documents."""

    model_config = ConfigDict(frozen=True)
    entry: str
    kind: Kind
    label: str
    items: list[str]


class Guide(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    lang: Lang
    script: Script
    title: str
    entries: list[str]
    sections: list[Section]
    sources: list[Source]
    as_of: date | None = None  # the earliest "as of" of a time-limited entry, if any
    verified: date | None = None  # when the corpus last checked these entries (the earliest)


class GuideSummary(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    title: str


class GuideList(BaseModel):
    model_config = ConfigDict(frozen=True)
    lang: Lang
    guides: list[GuideSummary]


def _entry_file(entry_id: str) -> Path | None:
    return next(ENTRIES_DIR.glob(f"*/{entry_id}.yaml"), None)


@cache
def _entry(entry_id: str) -> dict:
    found = _entry_file(entry_id)
    if found is None:
        raise KeyError(entry_id)
    return yaml.safe_load(found.read_text(encoding="utf-8"))


def _kind(label: str) -> Kind:
    return next((kind for kind, pattern in _KINDS if pattern.search(label)), "other")


def _sections(entry_id: str, details: str) -> list[Section]:
    """The labelled lines of an entry's details, each "- item" line joined to the label above it;
    a documents line "a; b; c" becomes the items a, b, c."""
    sections: list[Section] = []
    for line in (raw.strip() for raw in details.splitlines()):
        if not line:
            continue
        if line.startswith("- ") and sections:
            last = sections[-1]
            sections[-1] = last.model_copy(update={"items": [*last.items, line[2:].rstrip("；;。.")]})
            continue
        match = _LABEL.match(line)
        label, text = (match["label"], match["text"]) if match else ("", line)
        kind = _kind(label)
        items = [i.rstrip("；;。.") for i in _ITEMS.split(text) if i.strip()] if kind == "materials" else (
            [text] if text else [])
        sections.append(Section(entry=entry_id, kind=kind, label=label.strip(), items=items))
    return sections


def _once(sections: list[Section]) -> list[Section]:
    """A document two entries both list ("a valid passport") is ticked once."""
    seen: set[str] = set()
    kept: list[Section] = []
    for section in sections:
        if section.kind == "materials":
            items = [i for i in section.items if i not in seen]
            seen.update(items)
            section = section.model_copy(update={"items": items})
        kept.append(section)
    return kept


def _sources(entries: list[dict]) -> list[Source]:
    seen: dict[str, Source] = {}
    for entry in entries:
        for source in entry.get("sources", []):
            when = source.get("date")
            seen.setdefault(source.get("url") or source["title"], Source(
                title=source["title"], url=source.get("url"), type=source.get("type", ""),
                article=source.get("article"), date=str(when) if when else None))
    return list(seen.values())


def _earliest(values: list[date | None]) -> date | None:
    dates = [v for v in values if v is not None]
    return min(dates) if dates else None


class GuideBook:
    """The guides of a catalogue (knowledge/guides.yaml unless given), read from the corpus in
    the visitor's language and script."""

    def __init__(self, catalogue: Catalogue | None = None) -> None:
        self.catalogue = catalogue if catalogue is not None else default_catalogue()

    def ids(self) -> list[str]:
        return list(self.catalogue)

    def title(self, guide_id: str, lang: Lang, script: Script | None = None) -> str:
        title = _entry(self.catalogue[guide_id][0])["title"][lang]
        return to_script(title, script) if script and lang == "zh" else title

    def list(self, lang: Lang, script: Script | None = None) -> GuideList:
        return GuideList(lang=lang, guides=[GuideSummary(id=g, title=self.title(g, lang, script))
                                            for g in self.catalogue])

    def get(self, guide_id: str, lang: Lang, script: Script | None = None) -> Guide | None:
        if guide_id not in self.catalogue:
            return None
        # Cantonese writers read Traditional characters, as the rest of the bot writes to them.
        shown: Script = "en" if lang == "en" else "zh-Hant" if script in ("zh-Hant", "yue") else "zh-Hans"
        entries = [_entry(e) for e in self.catalogue[guide_id]]
        sections = _once([s for e in entries for s in _sections(e["id"], e["answer"][lang].get("details") or "")])
        sources = _sources(entries)
        if shown == "zh-Hant":
            sections = [s.model_copy(update={"label": to_script(s.label, shown),
                                             "items": [to_script(i, shown) for i in s.items]})
                        for s in sections]
            sources = [s.model_copy(update={"title": to_script(s.title, shown)}) for s in sources]
        return Guide(
            id=guide_id, lang=lang, script=shown, title=self.title(guide_id, lang, shown),
            entries=list(self.catalogue[guide_id]), sections=sections, sources=sources,
            as_of=_earliest([e.get("as_of") for e in entries if e.get("time_limited")]),
            verified=_earliest([e.get("verified") for e in entries]),
        )

    def for_entry(self, entry_id: str) -> str | None:
        """The guide whose procedure this corpus entry describes (its first entry), if any."""
        return next((g for g, entries in self.catalogue.items() if entries[0] == entry_id), None)

    def find(self, text: str) -> str | None:
        """The guide a picked title names ("工作类居留证件（在华工作的外国人）"), in any script or
        language, or its id."""
        wanted = _fold(text)
        for guide_id in self.catalogue:
            names = {guide_id, *(_fold(self.title(guide_id, lang)) for lang in ("zh", "en"))}
            if wanted in names:
                return guide_id
        return None


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", to_simplified(text).strip().lower())
