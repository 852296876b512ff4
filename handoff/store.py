"""SQLite tables of the handoff module, in the same database file as the chat events (WAL).

Tables: agents, agent tokens (hashed), login failures/lockouts, handoff chats (queue state and
ownership), notes, tickets, ratings and the audit log. Every method is one short transaction, so
nothing is held across an ``await`` by the asyncio code that calls it.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS handoff_agents (
    username TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('agent', 'supervisor')),
    queues TEXT NOT NULL,              -- JSON list of queue ids, or ["*"]
    langs TEXT NOT NULL,               -- JSON list of language skills: zh, yue, en
    max_chats INTEGER NOT NULL CHECK (max_chats >= 1),
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS handoff_tokens (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES handoff_agents(username),
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS handoff_login_failures (
    username TEXT NOT NULL,
    ts REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS handoff_login_failures_user ON handoff_login_failures(username, ts);
CREATE TABLE IF NOT EXISTS handoff_lockouts (
    username TEXT PRIMARY KEY,
    locked_until REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS handoff_chats (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'agent', 'bot', 'closed', 'abandoned')),
    queue_id TEXT NOT NULL,
    lang TEXT NOT NULL,
    business_option TEXT,
    region TEXT,
    city TEXT,
    overseas INTEGER NOT NULL DEFAULT 0,
    summary TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    rule TEXT NOT NULL DEFAULT '',
    owner TEXT,
    waiting_since REAL NOT NULL,       -- first escalation: the queue order survives transfers
    enqueued_at REAL NOT NULL,
    claimed_at REAL,
    ended_at REAL,
    outcome TEXT,                      -- resolved, handed_back, visitor_closed, ticket
    leaving_message INTEGER NOT NULL DEFAULT 0,
    purged_at REAL                     -- when the retention purge removed its summary and notes
);
CREATE UNIQUE INDEX IF NOT EXISTS handoff_chats_one_active
    ON handoff_chats(session_id) WHERE status IN ('queued', 'agent');
CREATE INDEX IF NOT EXISTS handoff_chats_status ON handoff_chats(status, queue_id, waiting_since);
CREATE TABLE IF NOT EXISTS handoff_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id INTEGER NOT NULL REFERENCES handoff_chats(id),
    ts REAL NOT NULL,
    author TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS handoff_tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    chat_id INTEGER REFERENCES handoff_chats(id),
    queue_id TEXT NOT NULL,
    lang TEXT NOT NULL,
    text TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at REAL NOT NULL,
    closed_at REAL,
    closed_by TEXT,
    reply TEXT,
    ref TEXT,                          -- T-YYYYMMDD-XXXX, what the visitor quotes
    purged_at REAL                     -- when the retention purge removed its text and reply
);
CREATE TABLE IF NOT EXISTS handoff_ratings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    chat_id INTEGER REFERENCES handoff_chats(id),
    agent TEXT,
    queue_id TEXT,
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment TEXT,
    ts REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS handoff_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    session_id TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
);
"""

# Audit details that are personal data: an agent's free-text note (transfer, resolve, hand back)
# and a client address (failed and throttled logins). The retention purge removes them from rows
# older than the retention; the partial index lists only the rows that still hold them.
PERSONAL_AUDIT = "(json_extract(detail, '$.note') IS NOT NULL OR json_extract(detail, '$.ip') IS NOT NULL)"

# Made after the migrations below: what the retention purge looks rows up by.
RETENTION_INDEXES = f"""
CREATE INDEX IF NOT EXISTS handoff_chats_session ON handoff_chats(session_id);
CREATE INDEX IF NOT EXISTS handoff_notes_chat ON handoff_notes(chat_id);
CREATE INDEX IF NOT EXISTS handoff_tickets_session ON handoff_tickets(session_id);
CREATE INDEX IF NOT EXISTS handoff_ratings_session ON handoff_ratings(session_id);
CREATE INDEX IF NOT EXISTS handoff_audit_ts ON handoff_audit(ts);
CREATE INDEX IF NOT EXISTS handoff_audit_personal ON handoff_audit(ts) WHERE {PERSONAL_AUDIT};
"""

ACTIVE = ("queued", "agent")


def create_schema(db: sqlite3.Connection) -> None:
    """The handoff tables, and the columns a database from an earlier version lacks. Deleted and
    overwritten content is zeroed (``secure_delete``), as in the chat tables (bot/store.py)."""
    db.execute("PRAGMA secure_delete=ON")
    db.executescript(SCHEMA)
    for table, column, kind in (("handoff_tickets", "ref", "TEXT"),
                                ("handoff_tickets", "purged_at", "REAL"),
                                ("handoff_chats", "purged_at", "REAL")):
        columns = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        if column not in columns:  # a database from an earlier version
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS handoff_tickets_ref ON handoff_tickets(ref)")
    db.executescript(RETENTION_INDEXES)


# Ticket references: T-<UTC date>-<4 symbols of Crockford's base32> (no I, L, O, U), e.g.
# T-20261206-7K3Q. About a million per day, drawn at random, so a number cannot be guessed from
# another; short enough to read out on the phone. Visitors may write it in any case, with or
# without dashes, and O/I/L are read as 0/1/1.
TICKET_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TICKET_REF_RE = re.compile(r"(?<![A-Za-z0-9])T\s*[-‐–—－]?\s*(\d{8})\s*[-‐–—－]?\s*([0-9A-Za-z]{4})(?![A-Za-z0-9])",
                           re.IGNORECASE)


def new_ticket_ref(now: float) -> str:
    day = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d")
    return f"T-{day}-" + "".join(secrets.choice(TICKET_ALPHABET) for _ in range(4))


def normalise_ticket_ref(text: str) -> str:
    m = TICKET_REF_RE.search(text.strip())
    if not m:
        return text.strip().upper()
    code = m.group(2).upper().translate(str.maketrans("OIL", "011"))
    return f"T-{m.group(1)}-{code}"


def find_ticket_ref(text: str) -> str | None:
    """The ticket reference a visitor quoted in a message, normalised, or None."""
    return normalise_ticket_ref(text) if TICKET_REF_RE.search(text) else None


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


@dataclass
class Chat:
    id: int
    session_id: str
    status: str
    queue_id: str
    lang: str
    business_option: str | None
    region: str | None
    city: str | None
    overseas: bool
    summary: str
    reason: str
    rule: str
    owner: str | None
    waiting_since: float
    enqueued_at: float
    claimed_at: float | None
    ended_at: float | None
    outcome: str | None
    leaving_message: bool
    purged_at: float | None = None  # the retention purge removed its summary and notes then


class HandoffStore:
    def __init__(self, path: Path | str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                  timeout=10.0)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA busy_timeout=10000")
        self.db.execute("PRAGMA foreign_keys=ON")
        create_schema(self.db)
        # Called with a chat's id whenever its queue state or ownership changes (the service
        # sends agents only what changed).
        self.on_change: Callable[[int], None] = lambda chat_id: None

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ agents
    def add_agent(self, agent: Agent) -> None:
        try:
            self.db.execute(
                "INSERT INTO handoff_agents VALUES (?,?,?,?,?,?,?,?,?)",
                (agent.username, agent.name, agent.role, json.dumps(agent.queues),
                 json.dumps(agent.langs), agent.max_chats, agent.password_hash,
                 int(agent.disabled), time.time()))
        except sqlite3.IntegrityError as exc:
            raise ValueError(f"agent {agent.username!r} already exists") from exc

    def agent(self, username: str) -> Agent | None:
        row = self.db.execute("SELECT * FROM handoff_agents WHERE username=?", (username,)).fetchone()
        return _agent(row) if row else None

    def agents(self) -> list[Agent]:
        return [_agent(r) for r in self.db.execute("SELECT * FROM handoff_agents ORDER BY username")]

    def set_disabled(self, username: str, disabled: bool) -> bool:
        cur = self.db.execute("UPDATE handoff_agents SET disabled=? WHERE username=?",
                              (int(disabled), username))
        if disabled:
            self.db.execute("UPDATE handoff_tokens SET revoked=1 WHERE username=?", (username,))
        return cur.rowcount == 1

    def set_password(self, username: str, password_hash: str) -> bool:
        cur = self.db.execute("UPDATE handoff_agents SET password_hash=? WHERE username=?",
                              (password_hash, username))
        return cur.rowcount == 1

    # ------------------------------------------------------------------ tokens and lockout
    def add_token(self, token_hash: str, username: str, expires_at: float) -> None:
        self.db.execute("INSERT INTO handoff_tokens VALUES (?,?,?,?,0)",
                        (token_hash, username, time.time(), expires_at))

    def token_user(self, token_hash: str, now: float) -> str | None:
        row = self.db.execute(
            "SELECT t.username FROM handoff_tokens t JOIN handoff_agents a USING (username) "
            "WHERE t.token_hash=? AND t.revoked=0 AND t.expires_at>? AND a.disabled=0",
            (token_hash, now)).fetchone()
        return row[0] if row else None

    def revoke_token(self, token_hash: str) -> None:
        self.db.execute("UPDATE handoff_tokens SET revoked=1 WHERE token_hash=?", (token_hash,))

    def locked_until(self, username: str) -> float:
        row = self.db.execute("SELECT locked_until FROM handoff_lockouts WHERE username=?",
                              (username,)).fetchone()
        return row[0] if row else 0.0

    def record_failure(self, username: str, now: float, window_s: float) -> int:
        """Store one failed login; return how many failures fall inside the window. Failures
        older than the window are purged, for every account."""
        self.db.execute("INSERT INTO handoff_login_failures VALUES (?,?)", (username, now))
        self.db.execute("DELETE FROM handoff_login_failures WHERE ts<=?", (now - window_s,))
        return self.db.execute("SELECT count(*) FROM handoff_login_failures WHERE username=?",
                               (username,)).fetchone()[0]

    def failures(self, username: str, now: float, window_s: float) -> tuple[int, float]:
        """Failed logins of an account inside the window, and the time of the last one."""
        count, last = self.db.execute(
            "SELECT count(*), max(ts) FROM handoff_login_failures WHERE username=? AND ts>?",
            (username, now - window_s)).fetchone()
        return count, last or 0.0

    def lock(self, username: str, until: float) -> None:
        self.db.execute("INSERT OR REPLACE INTO handoff_lockouts VALUES (?,?)", (username, until))
        self.db.execute("DELETE FROM handoff_login_failures WHERE username=?", (username,))

    def clear_failures(self, username: str) -> None:
        self.db.execute("DELETE FROM handoff_login_failures WHERE username=?", (username,))
        self.db.execute("DELETE FROM handoff_lockouts WHERE username=?", (username,))

    # ------------------------------------------------------------------ chats
    def open_chat(self, session_id: str, *, queue_id: str, lang: str, business_option: str | None,
                  region: str | None, city: str | None, overseas: bool, summary: str,
                  reason: str, rule: str, now: float) -> Chat:
        """Queue a session; an already active chat of the session is re-routed, not duplicated."""
        active = self.active_chat(session_id)
        if active is not None:
            return active
        cur = self.db.execute(
            "INSERT INTO handoff_chats (session_id,status,queue_id,lang,business_option,region,city,"
            "overseas,summary,reason,rule,waiting_since,enqueued_at) "
            "VALUES (?,'queued',?,?,?,?,?,?,?,?,?,?,?)",
            (session_id, queue_id, lang, business_option, region, city, int(overseas), summary,
             reason, rule, now, now))
        self.on_change(cur.lastrowid)  # type: ignore[arg-type]
        return self.chat(cur.lastrowid)  # type: ignore[arg-type, return-value]

    def chat(self, chat_id: int) -> Chat | None:
        row = self.db.execute("SELECT * FROM handoff_chats WHERE id=?", (chat_id,)).fetchone()
        return _chat(row) if row else None

    def active_chat(self, session_id: str) -> Chat | None:
        row = self.db.execute(
            "SELECT * FROM handoff_chats WHERE session_id=? AND status IN ('queued','agent')",
            (session_id,)).fetchone()
        return _chat(row) if row else None

    def last_chat(self, session_id: str) -> Chat | None:
        row = self.db.execute("SELECT * FROM handoff_chats WHERE session_id=? ORDER BY id DESC LIMIT 1",
                              (session_id,)).fetchone()
        return _chat(row) if row else None

    def active_chats(self) -> list[Chat]:
        return [_chat(r) for r in self.db.execute(
            "SELECT * FROM handoff_chats WHERE status IN ('queued','agent') "
            "ORDER BY waiting_since, id")]

    def waiting_rows(self) -> list[tuple[int, str, str, float]]:
        """(id, queue, lang, waiting since) of every queued chat, oldest first: the cheap form of
        ``active_chats`` for queue positions."""
        return self.db.execute(
            "SELECT id, queue_id, lang, waiting_since FROM handoff_chats WHERE status='queued' "
            "ORDER BY waiting_since, id").fetchall()

    def owned_rows(self) -> list[tuple[int, str, str]]:
        """(id, owner, queue) of every chat an agent has."""
        return self.db.execute(
            "SELECT id, owner, queue_id FROM handoff_chats WHERE status='agent' ORDER BY id"
        ).fetchall()

    def queue_stats(self) -> dict[str, tuple[int, float]]:
        """queue -> (chats waiting, oldest waiting since)."""
        return {q: (n, oldest) for q, n, oldest in self.db.execute(
            "SELECT queue_id, count(*), min(waiting_since) FROM handoff_chats "
            "WHERE status='queued' GROUP BY queue_id")}

    def claim(self, chat_id: int, username: str, now: float) -> bool:
        """Atomic: exactly one of several simultaneous claims of a waiting chat succeeds."""
        cur = self.db.execute(
            "UPDATE handoff_chats SET owner=?, status='agent', claimed_at=?, leaving_message=0 "
            "WHERE id=? AND status='queued' AND owner IS NULL", (username, now, chat_id))
        return self._changed(chat_id, cur.rowcount == 1)

    def move_to_queue(self, chat_id: int, owner: str | None, queue_id: str, now: float) -> bool:
        """Transfer an owned chat back into a (possibly other) queue; only its owner may."""
        cur = self.db.execute(
            "UPDATE handoff_chats SET owner=NULL, status='queued', queue_id=?, enqueued_at=?, "
            "claimed_at=NULL WHERE id=? AND status='agent' AND owner IS ?",
            (queue_id, now, chat_id, owner))
        return self._changed(chat_id, cur.rowcount == 1)

    def give_to(self, chat_id: int, owner: str | None, new_owner: str, now: float) -> bool:
        cur = self.db.execute(
            "UPDATE handoff_chats SET owner=?, claimed_at=? WHERE id=? AND status='agent' AND owner=?",
            (new_owner, now, chat_id, owner))
        return self._changed(chat_id, cur.rowcount == 1)

    def end(self, chat_id: int, *, status: str, outcome: str, now: float,
            owner: str | None = None, check_owner: bool = False) -> bool:
        sql = ("UPDATE handoff_chats SET status=?, outcome=?, ended_at=?, leaving_message=0 "
               "WHERE id=? AND status IN ('queued','agent')")
        args: list[Any] = [status, outcome, now, chat_id]
        if check_owner:
            sql += " AND owner IS ?"
            args.append(owner)
        return self._changed(chat_id, self.db.execute(sql, args).rowcount == 1)

    def set_leaving_message(self, chat_id: int, on: bool) -> None:
        self.db.execute("UPDATE handoff_chats SET leaving_message=? WHERE id=?", (int(on), chat_id))
        self.on_change(chat_id)

    def _changed(self, chat_id: int, changed: bool) -> bool:
        if changed:
            self.on_change(chat_id)
        return changed

    def handle_times(self, queue_id: str, limit: int = 50) -> list[float]:
        rows = self.db.execute(
            "SELECT ended_at - claimed_at FROM handoff_chats WHERE queue_id=? AND outcome IN "
            "('resolved','handed_back') AND claimed_at IS NOT NULL ORDER BY ended_at DESC LIMIT ?",
            (queue_id, limit))
        return [r[0] for r in rows]

    # ------------------------------------------------------------------ notes, tickets, ratings
    def chats_of_session(self, session_id: str) -> list[Chat]:
        """Every handoff of one conversation (one resume token, followed across a transfer)."""
        return [_chat(r) for r in self.db.execute(
            "SELECT * FROM handoff_chats WHERE session_id=? ORDER BY id", (session_id,))]

    def search(self, query: str, queue_ids: list[str] | None, limit: int = 20) -> dict[str, list[dict]]:
        """Past and present chats whose transcript or summary contains ``query``, and tickets
        whose text, answer or number does; newest first. ``queue_ids`` None: every queue."""
        like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.db.execute(
            "SELECT c.*, (SELECT body FROM events e WHERE e.session_id=c.session_id "
            "  AND e.type IN ('visitor','reply') AND json_extract(e.body, '$.text') LIKE ? ESCAPE '\\' "
            "  ORDER BY e.seq LIMIT 1) AS hit "
            "FROM handoff_chats c WHERE c.summary LIKE ? ESCAPE '\\' OR hit IS NOT NULL "
            "ORDER BY c.id DESC LIMIT 200", (like, like))
        chats = []
        for r in rows:
            d = dict(r)
            if queue_ids is not None and "*" not in queue_ids and d["queue_id"] not in queue_ids:
                continue
            hit = json.loads(d.pop("hit")).get("text", "") if d.get("hit") else d["summary"]
            chats.append({"id": d["id"], "status": d["status"], "outcome": d["outcome"],
                          "queue": d["queue_id"], "lang": d["lang"], "summary": d["summary"],
                          "owner": d["owner"], "waiting_since": d["waiting_since"],
                          "ended_at": d["ended_at"], "snippet": hit[:200]})
            if len(chats) >= limit:
                break
        tickets = [t for t in self.tickets(None, queue_ids)
                   if query.casefold() in " ".join(str(t.get(k) or "") for k in ("text", "reply", "ref")).casefold()]
        return {"chats": chats, "tickets": list(reversed(tickets))[:limit]}

    def add_note(self, chat_id: int, author: str, kind: str, text: str) -> None:
        self.db.execute("INSERT INTO handoff_notes (chat_id,ts,author,kind,text) VALUES (?,?,?,?,?)",
                        (chat_id, time.time(), author, kind, text))

    def notes(self, session_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT n.ts, n.author, n.kind, n.text FROM handoff_notes n JOIN handoff_chats c "
            "ON c.id=n.chat_id WHERE c.session_id=? ORDER BY n.id", (session_id,))
        return [dict(r) for r in rows]

    def add_ticket(self, session_id: str, chat_id: int | None, queue_id: str, lang: str,
                   text: str) -> int:
        now = time.time()
        for _ in range(20):
            ref = new_ticket_ref(now)
            try:
                cur = self.db.execute(
                    "INSERT INTO handoff_tickets (session_id,chat_id,queue_id,lang,text,created_at,ref) "
                    "VALUES (?,?,?,?,?,?,?)", (session_id, chat_id, queue_id, lang, text, now, ref))
                return int(cur.lastrowid)  # type: ignore[arg-type]
            except sqlite3.IntegrityError:
                continue  # the same reference drawn twice on one day: draw again
        raise RuntimeError("could not draw a free ticket reference")

    def ticket_by_ref(self, ref: str) -> dict | None:
        row = self.db.execute("SELECT * FROM handoff_tickets WHERE ref=?",
                              (normalise_ticket_ref(ref),)).fetchone()
        return dict(row) if row else None

    def tickets(self, status: str | None = "open", queue_ids: list[str] | None = None) -> list[dict]:
        sql, args = "SELECT * FROM handoff_tickets", []
        if status:
            sql += " WHERE status=?"
            args.append(status)
        rows = [dict(r) for r in self.db.execute(sql + " ORDER BY id", args)]
        if queue_ids is not None and "*" not in queue_ids:
            rows = [r for r in rows if r["queue_id"] in queue_ids]
        return rows

    def ticket(self, ticket_id: int) -> dict | None:
        row = self.db.execute("SELECT * FROM handoff_tickets WHERE id=?", (ticket_id,)).fetchone()
        return dict(row) if row else None

    def close_ticket(self, ticket_id: int, by: str, reply: str | None) -> bool:
        cur = self.db.execute(
            "UPDATE handoff_tickets SET status='closed', closed_at=?, closed_by=?, reply=? "
            "WHERE id=? AND status='open'", (time.time(), by, reply, ticket_id))
        return cur.rowcount == 1

    def add_rating(self, session_id: str, chat: Chat | None, score: int, comment: str | None) -> None:
        self.db.execute(
            "INSERT INTO handoff_ratings (session_id,chat_id,agent,queue_id,score,comment,ts) "
            "VALUES (?,?,?,?,?,?,?)",
            (session_id, chat.id if chat else None, _rated_agent(self, chat),
             chat.queue_id if chat else None, score, comment, time.time()))

    def ratings(self, session_id: str | None = None) -> list[dict]:
        if session_id:
            rows = self.db.execute("SELECT * FROM handoff_ratings WHERE session_id=? ORDER BY id",
                                   (session_id,))
        else:
            rows = self.db.execute("SELECT * FROM handoff_ratings ORDER BY id")
        return [dict(r) for r in rows]

    def csat(self) -> list[dict]:
        """Average rating and count per agent and queue (chats an agent handled)."""
        rows = self.db.execute(
            "SELECT agent, queue_id, count(*) AS ratings, round(avg(score), 2) AS average "
            "FROM handoff_ratings GROUP BY agent, queue_id ORDER BY agent, queue_id")
        return [dict(r) for r in rows]

    # ------------------------------------------------------------------ audit
    def audit(self, actor: str, action: str, session_id: str | None = None, **detail: Any) -> None:
        self.db.execute("INSERT INTO handoff_audit (ts,actor,action,session_id,detail) VALUES (?,?,?,?,?)",
                        (time.time(), actor, action, session_id,
                         json.dumps(detail, ensure_ascii=False, default=str)))

    def audit_log(self, *, actor: str | None = None, session_id: str | None = None,
                  action: str | None = None, limit: int = 100) -> Iterator[dict]:
        clauses, args = [], []
        for col, val in (("actor", actor), ("session_id", session_id), ("action", action)):
            if val:
                clauses.append(f"{col}=?")
                args.append(val)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.execute(
            f"SELECT * FROM (SELECT * FROM handoff_audit{where} ORDER BY id DESC LIMIT ?) ORDER BY id",
            [*args, limit])
        for r in rows:
            d = dict(r)
            d["detail"] = json.loads(d["detail"])
            yield d


def _rated_agent(store: HandoffStore, chat: Chat | None) -> str | None:
    if chat is None:
        return None
    if chat.owner:
        return chat.owner
    row = store.db.execute(
        "SELECT actor FROM handoff_audit WHERE session_id=? AND action IN ('resolve','handback') "
        "ORDER BY id DESC LIMIT 1", (chat.session_id,)).fetchone()
    return row[0] if row else None


def _agent(row: sqlite3.Row) -> Agent:
    return Agent(username=row["username"], name=row["name"], role=row["role"],
                 queues=json.loads(row["queues"]), langs=json.loads(row["langs"]),
                 max_chats=row["max_chats"], password_hash=row["password_hash"],
                 disabled=bool(row["disabled"]), created_at=row["created_at"])


def _chat(row: sqlite3.Row) -> Chat:
    d = dict(row)
    d["overseas"] = bool(d["overseas"])
    d["leaving_message"] = bool(d["leaving_message"])
    return Chat(**d)
