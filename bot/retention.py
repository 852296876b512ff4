"""The retention purge: personal data leaves the database once a conversation has been inactive
for longer than ``CHAT_RETENTION_S``; counts, times, scores, intents and ticket numbers stay.

This is the policy: which cut-offs the settings give, in what batches the purge runs and how it
lets the server write in between. What each table loses is storage/retention.py's, on either
backend. The purge opens its own connection, so it runs in a thread of the server (every
``CHAT_PURGE_INTERVAL_S``) or as ``python -m bot purge`` beside a running server: each batch is
one short write transaction, and the server writes between batches.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage.backends import open_database
from storage.retention import KINDS, Cutoffs, Retention, Rule

# Conversations (or rows) per write transaction: for 50 conversations of 20 messages each, 7 ms
# of the write lock on average (docs/security.md, "Data retention").
BATCH = 50
# After each write transaction the purge waits at least as long as the transaction took (and at
# least this long): SQLite's writers do not queue, they poll, so a purge that took the lock again
# at once could keep the server's writes waiting for the whole purge.
MIN_PAUSE_S = 0.02


@dataclass(frozen=True)
class Policy:
    retention_s: float  # a conversation inactive this long loses its personal data
    audit_retention_s: float  # audit rows older than this are deleted
    login_window_s: float  # failed logins older than this no longer count, and are deleted

    @classmethod
    def from_settings(cls, settings: Any) -> Policy:
        from handoff.routing import load_table

        # The same window the login throttle counts failures in (handoff/service.py).
        window = load_table(settings.routing_file).failure_window_s or settings.agent_lockout_s
        return cls(settings.retention_s, settings.audit_retention_s, window)

    def cutoffs(self, now: float) -> Cutoffs:
        return Cutoffs(now=now, cutoff=now - self.retention_s,
                       audit_cutoff=now - self.audit_retention_s,
                       login_window_s=self.login_window_s)


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    sessions: list[str] = field(default_factory=list)  # the conversations purged
    # Whether the backend let go of the old copies of what was removed (SQLite: the WAL emptied;
    # PostgreSQL: the dead row versions vacuumed); None when there was nothing to reclaim (a dry
    # run, nothing purged).
    reclaimed: bool | None = None


def purge(target: str | Path, policy: Policy, *, now: float, dry_run: bool = False,
          batch: int = BATCH, stop: threading.Event | None = None) -> Report:
    """Purge what is past its retention as of ``now`` in the database at ``target`` (a SQLite
    file or a PostgreSQL URL); a dry run counts the same rows and changes nothing. ``stop`` (set
    by a server shutting down) ends the purge between batches."""
    cutoffs = policy.cutoffs(now)
    report = Report()
    db = open_database(target)  # the purge's own connection, the schema brought up to date
    try:
        retention = Retention(db)
        for ids in retention.eligible(cutoffs, batch):
            if stop is not None and stop.is_set():
                return report
            if dry_run:
                retention.count_conversations(ids, cutoffs, report.counts)
                continue
            with _yielding():
                report.sessions += retention.purge_conversations(ids, cutoffs, report.counts)
        for rule in retention.sweeps:
            _sweep(retention, rule, cutoffs, report, dry_run, batch, stop)
        changed = [kind for kind, n in report.counts.items() if n]
        if not dry_run and changed:
            report.reclaimed = retention.reclaim(changed)
    finally:
        db.close()
    return report


def _sweep(retention: Retention, rule: Rule, cutoffs: Cutoffs, report: Report, dry_run: bool,
           batch: int, stop: threading.Event | None) -> None:
    if dry_run:
        report.counts[rule.kind] += retention.count(rule, cutoffs)
        return
    while stop is None or not stop.is_set():
        with _yielding():
            done = retention.sweep(rule, cutoffs, limit=batch)
        report.counts[rule.kind] += done
        if done < batch:
            return


@contextmanager
def _yielding() -> Iterator[None]:
    """Let the server write between two batches."""
    started = time.perf_counter()
    yield
    time.sleep(max(MIN_PAUSE_S, time.perf_counter() - started))


def rebuild(target: str | Path) -> bool:
    """Rewrite the purge's tables (SQLite: the whole file) compactly: space freed before this
    version may still hold old text. Holds the tables' locks while it runs."""
    db = open_database(target)
    try:
        return Retention(db).rebuild()
    finally:
        db.close()


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


def describe(report: Report, policy: Policy, *, now: float, dry_run: bool) -> str:
    """What ``python -m bot purge`` prints: one line per kind, the count first."""
    lines = [f"Retention purge as of {iso(now)}"
             + (" (dry run: rows that would be purged; nothing changed)" if dry_run else ""),
             f"conversations inactive since before {iso(now - policy.retention_s)}, "
             f"audit rows older than {iso(now - policy.audit_retention_s)}",
             f"{'rows':>8}  {'kind':<22} what the purge does"]
    lines += [f"{report.counts[kind]:>8}  {kind:<22} {says}" for kind, says in KINDS.items()]
    if report.reclaimed is False:  # SQLite only: readers kept its write-ahead log busy
        lines.append("warning: the write-ahead log could not be emptied (busy); old copies of the "
                     "purged rows stay in it until the next checkpoint")
    return "\n".join(lines)
