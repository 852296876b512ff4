"""One ratings table: the visitor's rating of a conversation, with the agent and queue it rates
when an agent handled it. Before, the server wrote every rating to ``ratings`` and the handoff
service wrote the ratings of agents' chats to ``handoff_ratings`` too; such a pair becomes one
row, and a handoff rating without its twin gets a row of its own."""

from __future__ import annotations

from storage.database import Database

# A pair was written within the same second; a minute allows for a slow disk.
SAME_RATING_S = 60

NEW_TABLE = """CREATE TABLE ratings_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    chat_id INTEGER REFERENCES handoff_chats(id),  -- the agent's chat rated, NULL for the bot
    agent TEXT,
    queue_id TEXT,
    score INTEGER NOT NULL,
    comment TEXT,
    ts REAL NOT NULL
)"""


def apply(db: Database) -> None:
    db.execute(db.dialect.ddl(NEW_TABLE))
    db.execute("INSERT INTO ratings_new (session_id, score, comment, ts)"
               " SELECT session_id, score, comment, ts FROM ratings ORDER BY ts")
    for rating in db.rows("SELECT * FROM handoff_ratings ORDER BY id"):
        _fold(db, rating)
    db.execute("DROP TABLE handoff_ratings")
    db.execute("DROP TABLE ratings")
    db.execute("ALTER TABLE ratings_new RENAME TO ratings")
    db.execute("CREATE INDEX ratings_session ON ratings(session_id)")
    db.execute("CREATE INDEX ratings_chat ON ratings(chat_id) WHERE chat_id IS NOT NULL")


def _fold(db: Database, rating: dict) -> None:
    twin = db.value(
        "SELECT min(id) FROM ratings_new WHERE session_id = ? AND score = ? AND comment IS NOT DISTINCT FROM ?"
        " AND chat_id IS NULL AND ts BETWEEN ? AND ?",
        (rating["session_id"], rating["score"], rating["comment"],
         rating["ts"] - SAME_RATING_S, rating["ts"] + SAME_RATING_S))
    agent = (rating["chat_id"], rating["agent"], rating["queue_id"])
    if twin is not None:
        db.execute("UPDATE ratings_new SET chat_id = ?, agent = ?, queue_id = ? WHERE id = ?",
                   (*agent, twin))
        return
    db.execute("INSERT INTO ratings_new (session_id, chat_id, agent, queue_id, score, comment, ts)"
               " VALUES (?, ?, ?, ?, ?, ?, ?)",
               (rating["session_id"], *agent, rating["score"], rating["comment"], rating["ts"]))
