"""The retention purge's statements: which conversations are old enough and what of each table
goes (docs/security.md, "Data retention", says table by table what is removed and what is kept;
the rules below are that table in SQL). What differs between backends comes from the dialect.
bot/retention.py decides when and with which cut-offs the purge runs, and in what batches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from storage.database import Database, Dialect, Params
from storage.migrations import m0001_initial
from storage.sqlite import DIALECT as SQLITE


@dataclass(frozen=True)
class Cutoffs:
    """The moments a purge compares with (Unix times), as the rules' named parameters."""

    now: float
    cutoff: float  # conversations inactive since before this lose their personal data
    audit_cutoff: float  # audit rows older than this are deleted
    login_window_s: float  # failed logins older than this before ``now`` are deleted


NAMED = re.compile(r"(?<!:):([a-z_]+)")  # ":now", not PostgreSQL's "::jsonb"


def positional(sql: str, values: dict[str, Any]) -> tuple[str, Params]:
    """The rules are written with named parameters (one value used in several places); the
    Database interface takes ``?``."""
    names = NAMED.findall(sql)
    return NAMED.sub("?", sql), tuple(values[name] for name in names)


@dataclass(frozen=True)
class Rule:
    """One kind of personal data: the rows of ``table`` that hold it (``where``, over the named
    parameters of ``Cutoffs`` and ``:ids``) and what the purge does to them: the ``set`` clause,
    or deleting the rows when ``set`` is None. ``says`` is what ``python -m bot purge`` prints
    beside the count."""

    kind: str
    table: str
    where: str
    set: str | None
    says: str

    def count_sql(self) -> str:
        return f"SELECT count(*) FROM {self.table} WHERE {self.where}"

    def apply_sql(self, sql: Dialect, limit: int | None = None) -> str:
        where = self.where if limit is None else sql.first_rows(self.table, self.where, limit)
        if self.set is None:
            return f"DELETE FROM {self.table} WHERE {where}"
        return f"UPDATE {self.table} SET {self.set} WHERE {where}"


# A conversation is purged once inactive longer than the retention, unless someone still works on
# it: a chat waiting for or held by an agent, or a left message (ticket) not yet answered.
ELIGIBLE = """purged_at IS NULL AND last_seen < :cutoff
  AND NOT EXISTS (SELECT 1 FROM handoff_chats c WHERE c.session_id = sessions.id
                  AND c.status IN ('queued', 'agent'))
  AND NOT EXISTS (SELECT 1 FROM handoff_tickets t WHERE t.session_id = sessions.id
                  AND t.status = 'open')"""


def event_skeleton(sql: Dialect) -> str:
    """What stays of an event: its type, number, time, sender, language, state and the bot's
    reading (kind of reply, intent), enough to count answers, handoffs and intents; nothing anyone
    wrote, no entity the NLU found, no agent's name. Members that are null are left out."""

    def kept(*keys: str) -> str:
        return ", ".join(f"'{key.rsplit('.', 1)[-1]}', {sql.json_value('body', key)}"
                         for key in keys)

    return sql.json_object_without_nulls(
        f"'type', type, 'seq', seq, {kept('ts', 'from', 'lang', 'script', 'state')}, "
        f"'meta', {sql.json_object(kept('meta.kind', 'meta.intent', 'meta.lang'))}")


def conversation_rules(sql: Dialect) -> tuple[Rule, ...]:
    """Applied together to a batch of eligible conversations (``:ids``, a JSON list of ids)."""
    in_batch = sql.in_json_list(":ids")
    return (
        Rule("conversations", "sessions", f"id {in_batch}",
             "context = '{}', token_hash = 'purged:' || id, purged_at = :now",
             "dialogue context and resume token removed"),
        Rule("events", "events", f"session_id {in_batch}",
             f"client_id = NULL, body = {event_skeleton(sql)}",
             "message text removed; type, time, sender, intent kept"),
        # Expired links of these conversations are left to the sweep, so no row counts twice.
        Rule("transfer links", "transfers", f"session_id {in_batch} AND expires_at >= :now", None,
             "deleted"),
        Rule("rating comments", "ratings",
             f"session_id {in_batch} AND chat_id IS NULL AND comment IS NOT NULL",
             "comment = NULL", "removed; scores kept"),
        Rule("handoff chats", "handoff_chats", f"session_id {in_batch}",
             "summary = '', purged_at = :now",
             "summary removed; queue, times, outcome kept"),
        Rule("agent notes", "handoff_notes",
             f"chat_id IN (SELECT id FROM handoff_chats WHERE session_id {in_batch})", None,
             "deleted"),
        Rule("tickets", "handoff_tickets", f"session_id {in_batch}",
             "text = '', reply = NULL, purged_at = :now",
             "message and answer removed; number, status, times kept"),
        Rule("agent rating comments", "ratings",
             f"session_id {in_batch} AND chat_id IS NOT NULL AND comment IS NOT NULL",
             "comment = NULL", "removed; scores kept"),
        # The verify page still answers for the code: the registry entry holds masked numbers.
        Rule("e-documents", "service_documents", f"session_id {in_batch} AND pdf IS NOT NULL",
             "pdf = NULL, download_token = NULL, expires_at = NULL",
             "PDF and download link removed; verification record kept"),
        Rule("guide links", "service_guide_links", f"session_id {in_batch}", None, "deleted"),
        Rule("look-up inquiries", "service_inquiries", f"session_id {in_batch}", None, "deleted"),
    )


def sweeps(sql: Dialect) -> tuple[Rule, ...]:
    """Rows with their own clock, swept in batches whatever the conversation."""
    return (
        Rule("transfer links", "transfers", "expires_at < :now", None, "deleted"),
        Rule("agent tokens", "handoff_tokens", "expires_at < :now", None,
             "expired ones deleted"),
        Rule("login failures", "handoff_login_failures", "ts <= :now - :login_window_s", None,
             "past their window deleted"),
        Rule("login waits", "handoff_lockouts", "locked_until <= :now", None,
             "ended ones deleted"),
        Rule("e-document links", "service_documents",
             "expires_at < :now AND pdf IS NOT NULL",
             "pdf = NULL, download_token = NULL, expires_at = NULL",
             "PDF removed; verification record kept"),
        Rule("expired guide links", "service_guide_links", "expires_at < :now", None, "deleted"),
        # Failed identity checks count within CHAT_LOOKUP_WINDOW_S, far shorter than the retention.
        Rule("look-up failures", "service_lookup_failures", "ts < :cutoff", None, "deleted"),
        Rule("old look-up inquiries", "service_inquiries", "ts < :cutoff", None, "deleted"),
        Rule("look-up waits", "service_lookup_locks", "locked_until <= :now", None,
             "ended ones deleted"),
        # Rows past the audit retention are deleted below, so they are not counted here too.
        Rule("audit details", "handoff_audit",
             f"ts < :cutoff AND ts >= :audit_cutoff AND {m0001_initial.personal_audit(sql)}",
             f"detail = {sql.json_remove('detail', 'note', 'ip')}",
             "agents' notes and client addresses removed"),
        Rule("audit rows", "handoff_audit", "ts < :audit_cutoff", None,
             "past CHAT_AUDIT_RETENTION_S deleted"),
        # A booking is a record the office needs until the visit, whatever becomes of the chat
        # (a booking made over the API has none): its applicant goes once the appointment, or
        # its cancellation, is as old as a purged conversation.
        Rule("appointment applicants", "appointments",
             "purged_at IS NULL AND (starts_at < :cutoff"
             " OR (status = 'cancelled' AND updated_at < :cutoff))",
             "applicant_name = '', passport = '', relationship = NULL, helper_name = NULL,"
             " purged_at = :now",
             "name, passport number and helper removed; office, day, slot, status kept"),
    )


# The kinds, and what the purge does to each, are the same on every backend.
KINDS = {rule.kind: rule.says for rule in (*conversation_rules(SQLITE), *sweeps(SQLITE))}


class Retention:
    """The purge's reads and writes on one database (a connection of the purge's own)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conversation_rules = conversation_rules(db.dialect)
        self.sweeps = sweeps(db.dialect)

    def _value(self, sql: str, values: dict[str, Any]) -> Any:
        return self.db.value(*positional(sql, values))

    def eligible(self, cutoffs: Cutoffs, batch: int) -> Iterator[list[str]]:
        """Eligible conversations, oldest first, a batch at a time (read outside a transaction;
        ``purge_conversations`` checks each again inside its own)."""
        after: tuple[float, str] = (float("-inf"), "")
        while True:
            rows = self.db.rows(*positional(
                f"SELECT id, last_seen FROM sessions WHERE {ELIGIBLE}"
                " AND (last_seen, id) > (:after_seen, :after_id) ORDER BY last_seen, id"
                " LIMIT :batch",
                {**asdict(cutoffs), "after_seen": after[0], "after_id": after[1],
                 "batch": batch}))
            if not rows:
                return
            yield [row["id"] for row in rows]
            after = (rows[-1]["last_seen"], rows[-1]["id"])

    def purge_conversations(self, ids: list[str], cutoffs: Cutoffs,
                            counts: dict[str, int]) -> list[str]:
        """Apply every conversation rule to those of ``ids`` still eligible, in one write
        transaction; adds to ``counts`` and returns the conversations purged."""
        with self.db.transaction():
            # Still eligible now that we hold the lock: the visitor may have come back meanwhile.
            ids = self._still_eligible(ids, cutoffs)
            values = {**asdict(cutoffs), "ids": json.dumps(ids)}
            for rule in self.conversation_rules:
                counts[rule.kind] += self.db.execute(*positional(rule.apply_sql(self.db.dialect),
                                                                 values))
        return ids

    def count_conversations(self, ids: list[str], cutoffs: Cutoffs,
                            counts: dict[str, int]) -> None:
        """What ``purge_conversations`` would change, changing nothing (no write lock taken)."""
        values = {**asdict(cutoffs), "ids": json.dumps(self._still_eligible(ids, cutoffs))}
        for rule in self.conversation_rules:
            counts[rule.kind] += int(self._value(rule.count_sql(), values))

    def _still_eligible(self, ids: list[str], cutoffs: Cutoffs) -> list[str]:
        """Those of ``ids`` eligible now; inside a transaction their rows stay locked until it
        ends, so a visitor coming back waits for the purge of their conversation, or is seen."""
        dialect = self.db.dialect
        lock = dialect.lock_rows if self.db.in_transaction else ""
        rows = self.db.rows(*positional(
            f"SELECT id FROM sessions WHERE id {dialect.in_json_list(':ids')} AND {ELIGIBLE}{lock}",
            {**asdict(cutoffs), "ids": json.dumps(ids)}))
        return [row["id"] for row in rows]

    def sweep(self, rule: Rule, cutoffs: Cutoffs, limit: int) -> int:
        """Apply a sweep to at most ``limit`` rows, one transaction of its own (autocommit)."""
        return self.db.execute(*positional(rule.apply_sql(self.db.dialect, limit),
                                           asdict(cutoffs)))

    def count(self, rule: Rule, cutoffs: Cutoffs) -> int:
        return int(self._value(rule.count_sql(), asdict(cutoffs)))

    def reclaim(self, kinds: Iterable[str]) -> bool:
        """Let the backend drop the old copies of what the rules of ``kinds`` changed."""
        return self.db.reclaim(self.tables(kinds))

    def rebuild(self) -> bool:
        return self.db.rebuild(self.tables(KINDS))

    def tables(self, kinds: Iterable[str]) -> list[str]:
        wanted = set(kinds)
        return sorted({rule.table for rule in (*self.conversation_rules, *self.sweeps)
                       if rule.kind in wanted})
