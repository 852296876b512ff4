"""One record of who holds a conversation. Before, ``sessions.state`` said bot, queued, agent or
closed and ``handoff_chats.status`` said queued or agent again, and start-up code repaired the
two when they disagreed. Now a conversation's open handoff chat (status queued or agent) is the
only record that a person is involved, and ``sessions.closed`` says whether the visitor or an
agent ended it; ``sessions.state`` goes.

The repairs the start-up code made are made here once, on the rows as they are: an open chat
whose conversation no longer says queued or agent is over ("stale", as the start-up code
ended it), and a conversation that says queued or agent with no open chat is the bot's again
(what the server did when such a visitor next wrote)."""

from __future__ import annotations

import json
import time

from storage.database import Database

OPEN = "('queued', 'agent')"


def apply(db: Database) -> None:
    now = time.time()
    stale = db.rows(
        f"SELECT c.id, c.session_id FROM handoff_chats c WHERE c.status IN {OPEN} AND NOT EXISTS"
        f" (SELECT 1 FROM sessions s WHERE s.id = c.session_id AND s.state IN {OPEN})")
    for chat in stale:
        db.execute("UPDATE handoff_chats SET status = 'closed', outcome = 'stale', ended_at = ?,"
                   " leaving_message = 0 WHERE id = ?", (now, chat["id"]))
        db.execute("INSERT INTO handoff_audit (ts, actor, action, session_id, detail)"
                   " VALUES (?, 'system', 'stale', ?, ?)",
                   (now, chat["session_id"], json.dumps({"chat": chat["id"]})))
    db.execute("ALTER TABLE sessions ADD COLUMN closed INTEGER NOT NULL DEFAULT 0")
    db.execute("UPDATE sessions SET closed = 1 WHERE state = 'closed'")
    db.execute("ALTER TABLE sessions DROP COLUMN state")
