"""The schema as the two store layers left it (bot/store.py and handoff/store.py before
storage/), created on an empty database; on a database those layers made, the columns their
later versions added are added, and nothing else changes (every row is kept)."""

from __future__ import annotations

from storage.database import Database, Dialect

TABLES = (
    """CREATE TABLE IF NOT EXISTS sessions (
        id TEXT PRIMARY KEY,
        token_hash TEXT UNIQUE NOT NULL,
        lang TEXT,
        script TEXT,
        lang_locked INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'bot',
        channel TEXT NOT NULL DEFAULT 'web',
        created_at REAL NOT NULL,
        last_seen REAL NOT NULL,
        last_seq INTEGER NOT NULL DEFAULT 0,
        context TEXT NOT NULL DEFAULT '{}',
        purged_at REAL                     -- when the retention purge removed its content
    )""",
    """CREATE TABLE IF NOT EXISTS events (
        session_id TEXT NOT NULL REFERENCES sessions(id),
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        client_id TEXT,
        body TEXT NOT NULL,
        PRIMARY KEY (session_id, seq)
    )""",
    """CREATE TABLE IF NOT EXISTS transfers (
        token_hash TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id),
        expires_at REAL NOT NULL,
        used INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS ratings (
        session_id TEXT NOT NULL REFERENCES sessions(id),
        score INTEGER NOT NULL,
        comment TEXT,
        ts REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS feedback (
        session_id TEXT NOT NULL REFERENCES sessions(id),
        seq INTEGER NOT NULL,
        value TEXT NOT NULL,
        ts REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS handoff_agents (
        username TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('agent', 'supervisor')),
        queues TEXT NOT NULL,              -- JSON list of queue ids, or ["*"]
        langs TEXT NOT NULL,               -- JSON list of language skills: zh, yue, en
        max_chats INTEGER NOT NULL CHECK (max_chats >= 1),
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS handoff_tokens (
        token_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL REFERENCES handoff_agents(username),
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS handoff_login_failures (
        username TEXT NOT NULL,
        ts REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS handoff_lockouts (
        username TEXT PRIMARY KEY,
        locked_until REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS handoff_chats (
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
    )""",
    """CREATE TABLE IF NOT EXISTS handoff_notes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        chat_id INTEGER NOT NULL REFERENCES handoff_chats(id),
        ts REAL NOT NULL,
        author TEXT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS handoff_tickets (
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
    )""",
    """CREATE TABLE IF NOT EXISTS handoff_ratings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        chat_id INTEGER REFERENCES handoff_chats(id),
        agent TEXT,
        queue_id TEXT,
        score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
        comment TEXT,
        ts REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS handoff_audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts REAL NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        session_id TEXT,
        detail TEXT NOT NULL DEFAULT '{}'
    )""",
)

# Columns added by later versions of the old layers: a database from before them lacks them.
ADDED_COLUMNS = (
    ("sessions", "purged_at", "REAL"),
    ("handoff_tickets", "ref", "TEXT"),
    ("handoff_tickets", "purged_at", "REAL"),
    ("handoff_chats", "purged_at", "REAL"),
)

# Audit details that are personal data: an agent's free-text note and a client address; the
# partial index lists only the rows that still hold them (the retention purge looks them up).
def personal_audit(dialect: Dialect) -> str:
    return (f"({dialect.json_get('detail', 'note')} IS NOT NULL"
            f" OR {dialect.json_get('detail', 'ip')} IS NOT NULL)")


INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS events_client_id"
    " ON events(session_id, client_id) WHERE client_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS transfers_session ON transfers(session_id)",
    "CREATE INDEX IF NOT EXISTS ratings_session ON ratings(session_id)",
    "CREATE INDEX IF NOT EXISTS sessions_unpurged ON sessions(last_seen, id) WHERE purged_at IS NULL",
    "CREATE INDEX IF NOT EXISTS handoff_login_failures_user ON handoff_login_failures(username, ts)",
    "CREATE UNIQUE INDEX IF NOT EXISTS handoff_chats_one_active"
    " ON handoff_chats(session_id) WHERE status IN ('queued', 'agent')",
    "CREATE INDEX IF NOT EXISTS handoff_chats_status ON handoff_chats(status, queue_id, waiting_since)",
    "CREATE UNIQUE INDEX IF NOT EXISTS handoff_tickets_ref ON handoff_tickets(ref)",
    "CREATE INDEX IF NOT EXISTS handoff_chats_session ON handoff_chats(session_id)",
    "CREATE INDEX IF NOT EXISTS handoff_notes_chat ON handoff_notes(chat_id)",
    "CREATE INDEX IF NOT EXISTS handoff_tickets_session ON handoff_tickets(session_id)",
    "CREATE INDEX IF NOT EXISTS handoff_ratings_session ON handoff_ratings(session_id)",
    "CREATE INDEX IF NOT EXISTS handoff_audit_ts ON handoff_audit(ts)",
)


def apply(db: Database) -> None:
    for statement in TABLES:
        db.execute(db.dialect.ddl(statement))
    for table, column, kind in ADDED_COLUMNS:
        if column not in db.columns(table):
            db.execute(db.dialect.ddl(f"ALTER TABLE {table} ADD COLUMN {column} {kind}"))
    for statement in INDEXES:
        db.execute(statement)
    db.execute("CREATE INDEX IF NOT EXISTS handoff_audit_personal ON handoff_audit(ts)"
               f" WHERE {personal_audit(db.dialect)}")
