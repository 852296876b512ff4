"""The audit log: who did what to which conversation, with details as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from storage.database import Database


class Audit:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, now: float, actor: str, action: str, session_id: str | None,
            detail: dict[str, Any]) -> None:
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO handoff_audit (ts, actor, action, session_id, detail) VALUES (?, ?, ?, ?, ?)",
                (now, actor, action, session_id, json.dumps(detail, ensure_ascii=False, default=str)))

    def log(self, *, actor: str | None = None, session_id: str | None = None,
            action: str | None = None, limit: int = 100) -> Iterator[dict]:
        """The newest ``limit`` rows matching the filters, oldest first."""
        clauses, args = [], []
        for column, wanted in (("actor", actor), ("session_id", session_id), ("action", action)):
            if wanted:
                clauses.append(f"{column} = ?")
                args.append(wanted)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.rows(f"SELECT * FROM (SELECT * FROM handoff_audit{where} ORDER BY id DESC LIMIT ?)"
                            " AS newest ORDER BY id", [*args, limit])
        for row in rows:
            yield {**row, "detail": json.loads(row["detail"])}

    def last_actor(self, session_id: str, actions: tuple[str, ...]) -> str | None:
        """Who last did one of ``actions`` to the conversation."""
        marks = ", ".join("?" for _ in actions)
        return self.db.value(f"SELECT actor FROM handoff_audit WHERE session_id = ? AND action IN ({marks})"
                             " ORDER BY id DESC LIMIT 1", (session_id, *actions))
