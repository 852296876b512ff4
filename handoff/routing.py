"""Routing of escalated chats to agent queues, driven by the table in ``handoff/routing.toml``.

Pure code: ``load_table(path)`` reads the file once, ``route(...)`` is a pure function of its
arguments and the table. The rules mirror the 12367 voice menu (docs/handoff.md).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from runtime.language import to_simplified

BUSINESS_OPTIONS = ("port_clearance", "entry_exit_documents", "comments_suggestions")
QueueKind = Literal["service_center", "border_inspection", "exit_entry"]
KIND_OF_OPTION: dict[str, QueueKind] = {
    "port_clearance": "border_inspection",
    "entry_exit_documents": "exit_entry",
    "comments_suggestions": "service_center",
}
KIND_NAMES: dict[str, tuple[str, str]] = {
    "border_inspection": ("{region}边检咨询", "{region} border inspection"),
    "exit_entry": ("{region}公安出入境咨询", "{region} public-security exit-entry"),
    "service_center": ("{region}移民服务中心", "{region} Immigration Service Center"),
}


class RoutingError(ValueError):
    """The routing file is inconsistent (unknown default queue, unknown province, ...)."""


@dataclass(frozen=True)
class Region:
    id: str
    zh: str
    short: str
    en: str
    cities: tuple[str, ...] = ()


@dataclass(frozen=True)
class Place:
    """Where the visitor said they are: always a province, sometimes a city inside it."""

    region: Region
    city: str | None = None

    @property
    def label_zh(self) -> str:
        return self.city if self.city else self.region.zh


@dataclass(frozen=True)
class Queue:
    id: str
    kind: QueueKind
    zh: str
    en: str
    languages: tuple[str, ...]
    province: str | None = None
    city: str | None = None

    def name(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class Route:
    queue_id: str
    queue_zh: str
    queue_en: str
    kind: QueueKind
    rule: str                         # which rule chose the queue, for the audit log and docs
    region: str | None = None         # province id when the visitor's region is known
    city: str | None = None
    region_known: bool = False        # False: the route did not need or did not get a region
    fallback: bool = False            # True: the region has no dedicated queue of this kind

    def queue_name(self, lang: str) -> str:
        return self.queue_en if lang == "en" else self.queue_zh


@dataclass(frozen=True)
class RoutingTable:
    queues: dict[str, Queue]
    regions: tuple[Region, ...]
    service_center: str
    border_inspection: str
    exit_entry: str
    avg_handle_s: int = 300
    hotline: str = "12367"
    failure_window_s: int | None = None
    _places: dict[str, Place] = field(default_factory=dict, repr=False, compare=False)

    def queue(self, queue_id: str) -> Queue:
        return self.queues[queue_id]

    def place(self, text: str | None) -> Place | None:
        """The province (and city) a visitor's words or picker value name, or None if unknown."""
        if not text:
            return None
        key = _normalize(text)
        if key in self._places:
            return self._places[key]
        for suffix in ("市", "省", "地区", "州"):
            if key.endswith(suffix) and key[: -len(suffix)] in self._places:
                return self._places[key[: -len(suffix)]]
        return None

    def default_for(self, kind: QueueKind) -> str:
        return {"service_center": self.service_center, "border_inspection": self.border_inspection,
                "exit_entry": self.exit_entry}[kind]

    def dedicated(self, kind: QueueKind, place: Place) -> Queue | None:
        by_city = by_province = None
        for q in self.queues.values():
            if q.kind != kind:
                continue
            if q.city and place.city and q.city == place.city:
                by_city = q
            elif q.province == place.region.id and not q.city:
                by_province = q
        return by_city or by_province


def _normalize(text: str) -> str:
    """Simplified script, no spaces, lower case: '廣東省 ' -> '广东省', 'Guang Dong' -> 'guangdong'."""
    return to_simplified(text).strip().replace(" ", "").replace("\u3000", "").lower()


def load_table(path: Path | str) -> RoutingTable:
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    regions = tuple(
        Region(id=r["id"], zh=r["zh"], short=r["short"], en=r["en"], cities=tuple(r.get("cities", ())))
        for r in raw.get("region", [])
    )
    by_id = {r.id: r for r in regions}
    queues: dict[str, Queue] = {}
    for q in raw.get("queue", []):
        province, city = q.get("province"), q.get("city")
        if province and province not in by_id:
            raise RoutingError(f"queue {q['id']}: unknown province {province!r}")
        region_label = ""
        if city:
            region_label = city
        elif province:
            region_label = by_id[province].short
        zh_t, en_t = KIND_NAMES[q["kind"]]
        en_label = by_id[province].en if province else city or ""
        queues[q["id"]] = Queue(
            id=q["id"], kind=q["kind"], languages=tuple(q.get("languages", ("zh",))),
            zh=q.get("zh") or zh_t.format(region=region_label),
            en=q.get("en") or en_t.format(region=en_label).strip(),
            province=province, city=city,
        )
    d = raw["defaults"]
    for key in ("service_center", "border_inspection", "exit_entry"):
        if d[key] not in queues:
            raise RoutingError(f"defaults.{key}: no queue {d[key]!r}")
    places: dict[str, Place] = {}
    for r in regions:
        for name in (r.id, r.zh, r.short, r.en):
            places[_normalize(name)] = Place(r)
        for c in r.cities:
            places.setdefault(_normalize(c), Place(r, c))
    for q in queues.values():
        if q.city and _normalize(q.city) not in places:
            raise RoutingError(f"queue {q.id}: city {q.city!r} is not listed under any region")
    return RoutingTable(
        queues=queues, regions=regions, service_center=d["service_center"],
        border_inspection=d["border_inspection"], exit_entry=d["exit_entry"],
        avg_handle_s=int(d.get("avg_handle_s", 300)), hotline=str(d.get("hotline", "12367")),
        failure_window_s=raw.get("auth", {}).get("failure_window_s"), _places=places,
    )


@lru_cache(maxsize=1)
def default_table() -> RoutingTable:
    """The shipped table, handoff/routing.toml (the service loads settings.routing_file instead)."""
    return load_table(Path(__file__).resolve().parent / "routing.toml")


def route(lang: str, business_option: str | None, region: str | None, overseas: bool,
          table: RoutingTable | None = None) -> Route:
    """Which queue a chat goes to. ``region`` is what the visitor said or picked (any script)."""
    table = table or default_table()
    if business_option is not None and business_option not in BUSINESS_OPTIONS:
        raise ValueError(f"unknown business option {business_option!r}")

    def to(queue_id: str, rule: str, place: Place | None = None, fallback: bool = False) -> Route:
        q = table.queue(queue_id)
        return Route(queue_id=q.id, queue_zh=q.zh, queue_en=q.en, kind=q.kind, rule=rule,
                     region=place.region.id if place else None, city=place.city if place else None,
                     region_known=place is not None, fallback=fallback)

    place = table.place(region)
    if overseas:
        return to(table.service_center, "overseas", place)
    if lang == "en":
        return to(table.service_center, "english", place)
    if business_option is None:
        return to(table.service_center, "no_business_option", place)
    kind = KIND_OF_OPTION[business_option]
    if kind == "service_center":
        return to(table.service_center, business_option, place)
    if place is None:
        return to(table.default_for(kind), f"{business_option}:region_unknown")
    queue = table.dedicated(kind, place)
    if queue is None:
        return to(table.default_for(kind), f"{business_option}:no_regional_queue", place, fallback=True)
    return to(queue.id, f"{business_option}:{'city' if queue.city else 'province'}", place)
