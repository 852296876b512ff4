"""The office-directory service: its one operation, its answer, and the embedded backend.

`OfficeDirectory.find(place, lang)` is what the chat and `GET /api/offices` call; a deployment
that has the NIA's own directory behind an HTTP bridge uses `services.http_adapter` instead of
the embedded backend over knowledge/offices.yaml. The answer is in one language: the chat
converts it to the visitor's script, and a remote system need not know our bilingual records.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict

from services.offices import Lang, Office, OfficeBook, Source, load_offices


class OfficeView(BaseModel):
    """One office in one language. A field is None (or the phone list empty) where it is not
    verified: the visitor is then pointed to `DirectoryPointer`."""

    model_config = ConfigDict(frozen=True)
    id: str
    name: str
    city: str
    province: str
    address: str | None = None
    hours: str | None = None
    phone: tuple[str, ...] = ()
    scope: str | None = None
    sources: tuple[Source, ...] = ()


class DirectoryPointer(BaseModel):
    """Where to look up what we have not verified: the NIA online directory, or the phone."""

    model_config = ConfigDict(frozen=True)
    name: str
    platform: str
    phone_fallback: str
    sources: tuple[Source, ...] = ()


class OfficeAnswer(BaseModel):
    model_config = ConfigDict(frozen=True)
    place: str  # as asked
    lang: Lang
    offices: tuple[OfficeView, ...]  # empty: no office of that place in our records
    directory: DirectoryPointer


class OfficeDirectory(Protocol):
    def find(self, place: str, lang: Lang) -> OfficeAnswer: ...


def view(office: Office, lang: Lang) -> OfficeView:
    return OfficeView(
        id=office.id, name=office.name(lang), city=office.city(lang),
        province=office.province(lang),
        address=office.address(lang) if office.address else None,
        hours=office.hours(lang) if office.hours else None, phone=office.phone,
        scope=office.scope(lang) if office.scope else None, sources=office.sources,
    )


class EmbeddedOfficeDirectory:
    """The default backend: the verified records of knowledge/offices.yaml, in memory."""

    def __init__(self, book: OfficeBook | None = None) -> None:
        self.book = book or load_offices()

    def find(self, place: str, lang: Lang) -> OfficeAnswer:
        d = self.book.directory
        pointer = DirectoryPointer(name=d.name(lang), platform=d.platform(lang),
                                   phone_fallback=d.phone_fallback(lang), sources=d.sources)
        offices = tuple(view(o, lang) for o in self.book.find(place))
        return OfficeAnswer(place=place, lang=lang, offices=offices, directory=pointer)
