"""Agents and their sign-in: accounts, session tokens (hashed), failed logins and lockouts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from storage.database import Database, Row


@dataclass
class Agent:
    username: str
    name: str
    role: str
    queues: list[str]
    langs: list[str]
    max_chats: int
    password_hash: str = field(repr=False)
    disabled: bool = False
    created_at: float = 0.0

    def public(self) -> dict[str, Any]:
        return {"username": self.username, "name": self.name, "role": self.role,
                "queues": self.queues, "langs": self.langs, "max_chats": self.max_chats,
                "disabled": self.disabled}


def _agent(row: Row) -> Agent:
    return Agent(**{**row, "queues": json.loads(row["queues"]), "langs": json.loads(row["langs"]),
                    "disabled": bool(row["disabled"])})


class Agents:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, agent: Agent, now: float) -> None:
        """Raises the layer's IntegrityError when the username is taken."""
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO handoff_agents (username, name, role, queues, langs, max_chats,"
                " password_hash, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (agent.username, agent.name, agent.role, json.dumps(agent.queues),
                 json.dumps(agent.langs), agent.max_chats, agent.password_hash,
                 int(agent.disabled), now))

    def get(self, username: str) -> Agent | None:
        row = self.db.row("SELECT * FROM handoff_agents WHERE username = ?", (username,))
        return _agent(row) if row else None

    def all(self) -> list[Agent]:
        return [_agent(r) for r in self.db.rows("SELECT * FROM handoff_agents ORDER BY username")]

    def within_capacity(self, username: str) -> bool:
        """Whether the agent owns no more chats than they may hold, with the agent's row locked
        until the caller's transaction ends: two nodes giving the same agent a chat at once are
        ordered, and the second sees the first's chat."""
        limit = self.db.value(f"SELECT max_chats FROM handoff_agents WHERE username = ?"
                              f"{self.db.dialect.lock_rows}", (username,))
        owned = self.db.value("SELECT count(*) FROM handoff_chats WHERE owner = ?"
                              " AND status = 'agent'", (username,))
        return limit is not None and int(owned) <= int(limit)

    def set_disabled(self, username: str, disabled: bool) -> bool:
        """A disabled agent's tokens are revoked with it."""
        with self.db.transaction():
            changed = self.db.execute("UPDATE handoff_agents SET disabled = ? WHERE username = ?",
                                      (int(disabled), username))
            if disabled:
                self.db.execute("UPDATE handoff_tokens SET revoked = 1 WHERE username = ?", (username,))
        return changed == 1

    def set_password(self, username: str, password_hash: str) -> bool:
        with self.db.transaction():
            return self.db.execute("UPDATE handoff_agents SET password_hash = ? WHERE username = ?",
                                   (password_hash, username)) == 1

    # Tokens -----------------------------------------------------------------------------------

    def add_token(self, token_hash: str, username: str, now: float, expires_at: float) -> None:
        with self.db.transaction():
            self.db.execute("INSERT INTO handoff_tokens (token_hash, username, created_at, expires_at)"
                            " VALUES (?, ?, ?, ?)", (token_hash, username, now, expires_at))

    def token_user(self, token_hash: str, now: float) -> str | None:
        return self.db.value(
            "SELECT t.username FROM handoff_tokens t JOIN handoff_agents a ON a.username = t.username"
            " WHERE t.token_hash = ? AND t.revoked = 0 AND t.expires_at > ? AND a.disabled = 0",
            (token_hash, now))

    def revoke_token(self, token_hash: str) -> None:
        with self.db.transaction():
            self.db.execute("UPDATE handoff_tokens SET revoked = 1 WHERE token_hash = ?", (token_hash,))

    # Failed logins and lockouts -------------------------------------------------------------------

    def locked_until(self, username: str) -> float:
        found = self.db.value("SELECT locked_until FROM handoff_lockouts WHERE username = ?", (username,))
        return found if found is not None else 0.0

    def record_failure(self, username: str, now: float, window_s: float) -> int:
        """Store one failed login; how many fall inside the window. Failures older than the
        window are deleted, for every account."""
        with self.db.transaction():
            self.db.execute("INSERT INTO handoff_login_failures (username, ts) VALUES (?, ?)",
                            (username, now))
            self.db.execute("DELETE FROM handoff_login_failures WHERE ts <= ?", (now - window_s,))
            return self.db.value("SELECT count(*) AS n FROM handoff_login_failures WHERE username = ?",
                                 (username,))

    def failures(self, username: str, now: float, window_s: float) -> tuple[int, float]:
        row = self.db.row("SELECT count(*) AS n, max(ts) AS last FROM handoff_login_failures"
                          " WHERE username = ? AND ts > ?", (username, now - window_s))
        assert row is not None  # an aggregate has one row
        return row["n"], row["last"] or 0.0

    def lock(self, username: str, until: float) -> None:
        with self.db.transaction():
            self.db.execute("INSERT INTO handoff_lockouts (username, locked_until) VALUES (?, ?)"
                            " ON CONFLICT (username) DO UPDATE SET locked_until = excluded.locked_until",
                            (username, until))
            self.db.execute("DELETE FROM handoff_login_failures WHERE username = ?", (username,))

    def clear_failures(self, username: str) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM handoff_login_failures WHERE username = ?", (username,))
            self.db.execute("DELETE FROM handoff_lockouts WHERE username = ?", (username,))
