"""Source and review policy (retrieval/sources.toml): who may be cited, and how fresh entries must be.

Visitors of a government service must be able to trust and check every source, so a source's
link must lead to an official publisher, or to state press typed as `press`; a mirror fails the
check even when its text is right. Where no official address is known an instrument is cited by
title and article, without a link.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from retrieval.schema import Entry, Source

POLICY_FILE = Path(__file__).resolve().parent / "sources.toml"

Publisher = Literal["official", "press"]


@dataclass(frozen=True)
class Policy:
    official: tuple[str, ...]
    press: tuple[str, ...]
    max_review_days: int
    max_review_days_time_limited: int

    def publisher(self, url: str) -> Publisher | None:
        """What kind of publisher the link's host is, or None when it is neither."""
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
        if _matches(host, self.official):
            return "official"
        if _matches(host, self.press):
            return "press"
        return None

    def max_review_days_for(self, entry: Entry) -> int:
        return self.max_review_days_time_limited if entry.time_limited else self.max_review_days


def _matches(host: str, domains: Iterable[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def load_policy(path: Path = POLICY_FILE) -> Policy:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    publishers, review = data["publishers"], data["review"]
    return Policy(
        official=tuple(d.lower() for d in publishers["official"]),
        press=tuple(d.lower() for d in publishers["press"]),
        max_review_days=int(review["max_days"]),
        max_review_days_time_limited=int(review["max_days_time_limited"]),
    )


def source_problem(source: Source, policy: Policy) -> str | None:
    """Why a source may not be shown as it is, or None."""
    if source.url is None:
        return None
    publisher = policy.publisher(source.url)
    host = urlsplit(source.url).hostname
    if publisher is None:
        return (
            f"{host} is not an official or press publisher (retrieval/sources.toml): link the "
            "official address from official-sources.md, or cite the instrument without a link"
        )
    if publisher == "press" and source.type != "press":
        return f"{host} is press: type this source `press`, or cite the official instrument"
    return None


def review_problem(entry: Entry, policy: Policy) -> str | None:
    limit = policy.max_review_days_for(entry)
    if (entry.review_by - entry.verified).days > limit:
        kind = "a time-limited entry" if entry.time_limited else "an entry"
        return f"review_by is more than {limit} days after verified, the longest for {kind}"
    return None


def is_due(entry: Entry, today: dt.date) -> bool:
    return entry.review_by < today
