"""The retention purge: personal data leaves the database once a conversation has been inactive
for longer than ``CHAT_RETENTION_S``; counts, times, scores, intents and ticket numbers stay.

docs/security.md ("Data retention") says table by table what is removed and what is kept; the
rules below are that table in SQL, the backend's own parts from its dialect (storage/sqlite.py).
The purge opens its own connection, with the one connection policy (storage/sqlite.py), so it runs
in a thread of the server (every ``CHAT_PURGE_INTERVAL_S``) or as ``python -m bot purge`` beside a
running server: each batch is one short write transaction (WAL), and the server writes between
batches.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage import sqlite
from storage.migrations import m0001_initial, migrate

SQL = sqlite.DIALECT

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


@dataclass(frozen=True)
class Rule:
    """One kind of personal data: the rows of ``table`` that hold it (``where``, over the named
    parameters of ``purge``) and what the purge does to them: the ``set`` clause, or deleting the
    rows when ``set`` is None. ``says`` is what ``python -m bot purge`` prints beside the count."""

    kind: str
    table: str
    where: str
    set: str | None
    says: str

    def count(self, db: sqlite3.Connection, params: dict[str, Any]) -> int:
        return db.execute(f"SELECT count(*) FROM {self.table} WHERE {self.where}",
                          params).fetchone()[0]

    def apply(self, db: sqlite3.Connection, params: dict[str, Any],
              limit: int | None = None) -> int:
        where = self.where if limit is None else SQL.first_rows(self.table, self.where, limit)
        if self.set is None:
            return db.execute(f"DELETE FROM {self.table} WHERE {where}", params).rowcount
        return db.execute(f"UPDATE {self.table} SET {self.set} WHERE {where}", params).rowcount


# A conversation is purged once inactive longer than the retention, unless someone still works on
# it: a chat waiting for or held by an agent, or a left message (ticket) not yet answered.
ELIGIBLE = """purged_at IS NULL AND last_seen < :cutoff
  AND NOT EXISTS (SELECT 1 FROM handoff_chats c WHERE c.session_id = sessions.id
                  AND c.status IN ('queued', 'agent'))
  AND NOT EXISTS (SELECT 1 FROM handoff_tickets t WHERE t.session_id = sessions.id
                  AND t.status = 'open')"""

IN_BATCH = SQL.in_json_list("ids")


def _kept(*keys: str) -> str:
    return ", ".join(f"'{key.rsplit('.', 1)[-1]}', {SQL.json_get('body', key)}" for key in keys)


# What stays of an event: its type, number, time, sender, language, state and the bot's reading
# (kind of reply, intent), enough to count answers, handoffs and intents; nothing anyone wrote,
# no entity the NLU found, no agent's name. Members that are null are left out.
EVENT_SKELETON = SQL.json_object_without_nulls(
    f"'type', type, 'seq', seq, {_kept('ts', 'from', 'lang', 'script', 'state')}, "
    f"'meta', {SQL.json_object(_kept('meta.kind', 'meta.intent', 'meta.lang'))}")

# Applied together to a batch of eligible conversations (``:ids``, a JSON list of session ids).
CONVERSATION_RULES = (
    Rule("conversations", "sessions", f"id {IN_BATCH}",
         "context = '{}', token_hash = 'purged:' || id, purged_at = :now",
         "dialogue context and resume token removed"),
    Rule("events", "events", f"session_id {IN_BATCH}",
         f"client_id = NULL, body = {EVENT_SKELETON}",
         "message text removed; type, time, sender, intent kept"),
    # Expired links of these conversations are left to the sweep below, so no row counts twice.
    Rule("transfer links", "transfers", f"session_id {IN_BATCH} AND expires_at >= :now", None,
         "deleted"),
    Rule("rating comments", "ratings",
         f"session_id {IN_BATCH} AND chat_id IS NULL AND comment IS NOT NULL",
         "comment = NULL", "removed; scores kept"),
    Rule("handoff chats", "handoff_chats", f"session_id {IN_BATCH}",
         "summary = '', purged_at = :now",
         "summary removed; queue, times, outcome kept"),
    Rule("agent notes", "handoff_notes",
         f"chat_id IN (SELECT id FROM handoff_chats WHERE session_id {IN_BATCH})", None,
         "deleted"),
    Rule("tickets", "handoff_tickets", f"session_id {IN_BATCH}",
         "text = '', reply = NULL, purged_at = :now",
         "message and answer removed; number, status, times kept"),
    Rule("agent rating comments", "ratings",
         f"session_id {IN_BATCH} AND chat_id IS NOT NULL AND comment IS NOT NULL",
         "comment = NULL", "removed; scores kept"),
)

# Rows with their own clock, swept in batches whatever the conversation.
SWEEPS = (
    Rule("transfer links", "transfers", "expires_at < :now", None, "deleted"),
    Rule("agent tokens", "handoff_tokens", "expires_at < :now", None,
         "expired ones deleted"),
    Rule("login failures", "handoff_login_failures", "ts <= :now - :login_window_s", None,
         "past their window deleted"),
    Rule("login waits", "handoff_lockouts", "locked_until <= :now", None,
         "ended ones deleted"),
    # Rows past the audit retention are deleted below, so they are not counted here too.
    Rule("audit details", "handoff_audit",
         f"ts < :cutoff AND ts >= :audit_cutoff AND {m0001_initial.personal_audit(SQL)}",
         f"detail = {SQL.json_remove('detail', 'note', 'ip')}",
         "agents' notes and client addresses removed"),
    Rule("audit rows", "handoff_audit", "ts < :audit_cutoff", None,
         "past CHAT_AUDIT_RETENTION_S deleted"),
)

KINDS = {rule.kind: rule.says for rule in (*CONVERSATION_RULES, *SWEEPS)}


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    sessions: list[str] = field(default_factory=list)  # the conversations purged
    # Whether the WAL was emptied after the purge (its old pages hold what was removed); None
    # when there was nothing to empty it of (a dry run, nothing purged).
    wal_truncated: bool | None = None


def connect(path: Path) -> sqlite3.Connection:
    """A connection of the purge's own (never the server's: it runs in another thread), with the
    one connection policy (secure_delete: removed text is zeroed in the file) and the schema
    brought up to date."""
    database = sqlite.SQLiteDatabase(path)
    migrate(database)
    return database.connection


def purge(path: Path, policy: Policy, *, now: float, dry_run: bool = False, batch: int = BATCH,
          stop: threading.Event | None = None) -> Report:
    """Purge what is past its retention as of ``now``; a dry run counts the same rows and
    changes nothing. ``stop`` (set by a server shutting down) ends the purge between batches."""
    params = {"now": now, "cutoff": now - policy.retention_s,
              "audit_cutoff": now - policy.audit_retention_s,
              "login_window_s": policy.login_window_s}
    report = Report()
    db = connect(path)
    try:
        for ids in _candidates(db, params, batch):
            if stop is not None and stop.is_set():
                return report
            with _yielding(dry_run):
                _purge_conversations(db, ids, params, report, dry_run)
        for rule in SWEEPS:
            _sweep(db, rule, params, report, dry_run, batch, stop)
        if not dry_run and any(report.counts.values()):
            report.wal_truncated = truncate_wal(db)
    finally:
        db.close()
    return report


def _candidates(db: sqlite3.Connection, params: dict[str, Any],
                batch: int) -> Iterator[list[str]]:
    """Eligible conversations, oldest first, a batch at a time (read without the write lock; the
    purge checks each again inside its transaction)."""
    after: tuple[float, str] = (float("-inf"), "")
    while True:
        rows = db.execute(
            f"SELECT id, last_seen FROM sessions WHERE {ELIGIBLE}"
            " AND (last_seen, id) > (:after_seen, :after_id) ORDER BY last_seen, id LIMIT :batch",
            {**params, "after_seen": after[0], "after_id": after[1], "batch": batch}).fetchall()
        if not rows:
            return
        yield [sid for sid, _ in rows]
        after = (rows[-1][1], rows[-1][0])


def _purge_conversations(db: sqlite3.Connection, ids: list[str], params: dict[str, Any],
                         report: Report, dry_run: bool) -> None:
    db.execute("BEGIN" if dry_run else "BEGIN IMMEDIATE")  # a dry run only reads
    try:
        # Still eligible now that we hold the lock: the visitor may have come back meanwhile.
        ids = [sid for (sid,) in db.execute(
            f"SELECT id FROM sessions WHERE id {IN_BATCH} AND {ELIGIBLE}",
            {**params, "ids": json.dumps(ids)})]
        batch_params = {**params, "ids": json.dumps(ids)}
        for rule in CONVERSATION_RULES:
            done = rule.count(db, batch_params) if dry_run else rule.apply(db, batch_params)
            report.counts[rule.kind] += done
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    if not dry_run:
        report.sessions.extend(ids)


def _sweep(db: sqlite3.Connection, rule: Rule, params: dict[str, Any], report: Report,
           dry_run: bool, batch: int, stop: threading.Event | None) -> None:
    if dry_run:
        report.counts[rule.kind] += rule.count(db, params)
        return
    while stop is None or not stop.is_set():
        with _yielding(dry_run=False):
            done = rule.apply(db, params, limit=batch)  # autocommit: one transaction per batch
        report.counts[rule.kind] += done
        if done < batch:
            return


@contextmanager
def _yielding(dry_run: bool) -> Iterator[None]:
    """Let the server write between two batches (a dry run writes nothing: no pause)."""
    started = time.perf_counter()
    yield
    if not dry_run:
        time.sleep(max(MIN_PAUSE_S, time.perf_counter() - started))


def truncate_wal(db: sqlite3.Connection) -> bool:
    """Copy the WAL into the database and empty the WAL file: its older page images still hold
    what the purge removed. Waits for readers of older snapshots (the server's are brief)."""
    return sqlite.wait_for_checkpoint(db)


def vacuum(path: Path) -> bool:
    """Rebuild the database file: free pages written before ``secure_delete`` was on (by an
    earlier version) may still hold old text. Holds the write lock while it runs."""
    db = connect(path)
    try:
        db.execute("VACUUM")
        return truncate_wal(db)
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
    if report.wal_truncated is False:
        lines.append("warning: the write-ahead log could not be emptied (busy); old copies of the "
                     "purged rows stay in it until the next checkpoint")
    return "\n".join(lines)
