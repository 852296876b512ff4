"""Exit-entry offices: typed records from knowledge/offices.yaml, and search by city or province.

The file holds only verified fields, so every field but the names is optional here: an absent
address, phone or hour means "not verified", and the `directory` block says where to look it up.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict

from runtime.language import to_simplified

OFFICES_FILE = Path(__file__).resolve().parent.parent / "knowledge" / "offices.yaml"
Lang = Literal["zh", "en"]

# "广西壮族自治区" → "广西", "Shanghai Municipality" → "shanghai": how people name a place.
_ZH_SUFFIX = re.compile(r"(壮族|回族|维吾尔)?(自治区|特别行政区|省|市)$")
_EN_SUFFIX = re.compile(r"(?<!\s)\s+(city|province|municipality|autonomous region|sar)$")


class Texts(BaseModel):
    model_config = ConfigDict(frozen=True)
    zh: str
    en: str

    def __call__(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en


class Source(BaseModel):
    model_config = ConfigDict(frozen=True)
    title: str
    url: str
    date: str
    type: str | None = None
    ref: str | None = None


class Office(BaseModel):
    """One office as the file has it, in both languages."""

    model_config = ConfigDict(frozen=True)
    id: str
    name: Texts
    city: Texts
    province: Texts
    address: Texts | None = None
    hours: Texts | None = None
    phone: tuple[str, ...] = ()
    scope: Texts | None = None
    entry: str | None = None
    sources: tuple[Source, ...] = ()


class DirectoryService(BaseModel):
    """The NIA's own online office directory: where every unverified field is looked up."""

    model_config = ConfigDict(frozen=True)
    name: Texts
    platform: Texts
    phone_fallback: Texts
    sources: tuple[Source, ...] = ()


class OfficeBook(BaseModel):
    model_config = ConfigDict(frozen=True)
    directory: DirectoryService
    offices: tuple[Office, ...]

    def find(self, place: str) -> tuple[Office, ...]:
        """The offices of a city, or of every city of a province, named in any script or in
        English ("廣州", "广州市", "Guangzhou", "guangdong"). Nothing found: ()."""
        key = place_key(place)
        if not key:
            return ()
        by_city = tuple(o for o in self.offices
                        if key in (place_key(o.city.zh), place_key(o.city.en)))
        if by_city:
            return by_city
        return tuple(o for o in self.offices
                     if key in (place_key(o.province.zh), place_key(o.province.en)))


def place_key(place: str) -> str:
    """A place name folded for comparison: Simplified, lower case, without 市/省/"city"."""
    folded = to_simplified(place.strip()).lower().replace("’", "'")
    folded = re.sub(r"[\s,，。.!！?？]+$", "", folded)
    return _EN_SUFFIX.sub("", _ZH_SUFFIX.sub("", folded)).strip()


def _dated(item: dict) -> dict:
    """YAML reads an unquoted date as a date; a source's date is text (as written)."""
    return {**item, "date": str(item["date"])}


@lru_cache(maxsize=4)
def load_offices(path: Path = OFFICES_FILE) -> OfficeBook:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    directory = raw["directory"]
    offices = [{**o, "sources": [_dated(s) for s in o.get("sources") or []]}
               for o in raw["offices"]]
    return OfficeBook.model_validate({
        "directory": {**directory, "sources": [_dated(s) for s in directory.get("sources", [])]},
        "offices": offices,
    })
