"""The embedded backend of the personal look-ups, on our database: the records, the demo data's
loading, and the failure limits of the identity check (kept in the database, so every node of a
cluster counts the same failures).

A check compares the passport number and date of birth of the record with that number; a number
that matches no record is compared with a placeholder, so both failures do the same work and get
the same answer."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date
from pathlib import Path

import yaml

from services.appointments import Assisted
from services.records import (
    HistoryStep,
    Identity,
    Kind,
    Locked,
    LookupResult,
    NotMatched,
    Record,
    Requester,
)
from services.settings import ServiceSettings
from storage.database import Database

DEMO_FILE = Path(__file__).resolve().parent / "demo_records.yaml"
_NO_RECORD = {"passport_no": "\x00", "birth_date": "\x00"}  # never equal to what a visitor types


class EmbeddedRecords:
    """``RecordService`` over the database ``db`` (a connection of this process's own)."""

    def __init__(self, db: Database, settings: ServiceSettings) -> None:
        self.db, self.settings = db, settings

    # Look-ups ------------------------------------------------------------------------------------

    def look_up(self, kind: Kind, identity: Identity, requester: Requester,
                now: float, assisted: Assisted | None = None) -> LookupResult:
        # ``assisted`` is recorded by the caller, in this database's inquiries (bot/lookups.py).
        scopes = self._scopes(requester)
        with self.db.transaction():
            until = self._locked_until(scopes, now)
            if until is not None:
                return Locked(until=until)
            row = self.db.row("SELECT * FROM service_records WHERE kind = ? AND number = ?",
                              (kind, identity.number)) or _NO_RECORD
            # Both fields are compared whatever the first gives: the time says nothing either.
            same_passport = hmac.compare_digest(row["passport_no"], identity.passport)
            same_birth = hmac.compare_digest(row["birth_date"], identity.birth.isoformat())
            if same_passport and same_birth:
                return self._record(row)
            return self._failed(scopes, now)

    def _record(self, row: dict) -> Record:
        steps = self.db.rows("SELECT on_date, status FROM service_record_history"
                             " WHERE kind = ? AND number = ? ORDER BY on_date, id",
                             (row["kind"], row["number"]))
        return Record(number=row["number"], kind=row["kind"], holder=row["holder"],
                      status=row["status"], details=json.loads(row["details"]),
                      history=tuple(HistoryStep(on=date.fromisoformat(s["on_date"]),
                                                status=s["status"]) for s in steps))

    # Failure limits ----------------------------------------------------------------------------

    def _scopes(self, requester: Requester) -> dict[str, int]:
        """The counters a failure adds to, with their limits. The address is kept only as a
        hash: the table says how often, never who."""
        ip = hashlib.sha256(f"lookup:{requester.ip}".encode()).hexdigest()[:32]
        return {f"session:{requester.session}": self.settings.lookup_failures_per_session,
                f"ip:{ip}": self.settings.lookup_failures_per_ip}

    def _locked_until(self, scopes: dict[str, int], now: float) -> float | None:
        marks = ",".join("?" for _ in scopes)
        until = self.db.value(f"SELECT max(locked_until) FROM service_lookup_locks"
                              f" WHERE scope IN ({marks}) AND locked_until > ?",
                              (*scopes, now))
        return None if until is None else float(until)

    def _failed(self, scopes: dict[str, int], now: float) -> LookupResult:
        window_start = now - self.settings.lookup_window_s
        left = []
        for scope, limit in scopes.items():
            self.db.execute("INSERT INTO service_lookup_failures (scope, ts) VALUES (?, ?)",
                            (scope, now))
            failures = int(self.db.value("SELECT count(*) FROM service_lookup_failures"
                                         " WHERE scope = ? AND ts > ?", (scope, window_start)))
            if failures >= limit:
                self._lock(scope, now + self.settings.lookup_lockout_s)
            left.append(limit - failures)
        if min(left) <= 0:
            return Locked(until=now + self.settings.lookup_lockout_s)
        return NotMatched(attempts_left=min(left))

    def _lock(self, scope: str, until: float) -> None:
        self.db.execute("DELETE FROM service_lookup_failures WHERE scope = ?", (scope,))
        self.db.execute("DELETE FROM service_lookup_locks WHERE scope = ?", (scope,))
        self.db.execute("INSERT INTO service_lookup_locks (scope, locked_until) VALUES (?, ?)",
                        (scope, until))

    # Demo data ---------------------------------------------------------------------------------

    def load_demo(self, path: Path = DEMO_FILE) -> int:
        """Add the file's records that are not in the database yet (idempotent; safe when
        several processes start at once); how many were added."""
        added = 0
        with self.db.transaction():
            for item in yaml.safe_load(path.read_text(encoding="utf-8"))["records"]:
                added += self._add(item)
        return added

    def _add(self, item: dict) -> int:
        added = self.db.execute(
            "INSERT INTO service_records (kind, number, passport_no, birth_date, holder, status,"
            " details) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, number) DO NOTHING",
            (item["kind"], item["number"], item["passport"], str(item["birth"]), item["holder"],
             item["status"], json.dumps(item.get("details", {}), ensure_ascii=False)))
        if added:
            for step in item.get("history", []):
                self.db.execute("INSERT INTO service_record_history (kind, number, on_date, status)"
                                " VALUES (?, ?, ?, ?)",
                                (item["kind"], item["number"], str(step["date"]), step["status"]))
        return added
