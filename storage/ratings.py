"""Ratings: one row per rating a visitor gave, with the agent's chat it rates (its agent and
queue) when an agent handled the conversation, NULL when it rates the bot."""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import Database, Row


@dataclass(frozen=True)
class Rated:
    """What a rating is of: an agent's chat, or the bot (all None)."""

    chat_id: int | None = None
    agent: str | None = None
    queue_id: str | None = None


class Ratings:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, session_id: str, score: int, comment: str | None, now: float,
            rated: Rated = Rated()) -> None:
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO ratings (session_id, chat_id, agent, queue_id, score, comment, ts)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (session_id, rated.chat_id, rated.agent, rated.queue_id, score, comment, now))

    def of_agents(self, session_id: str | None = None) -> list[Row]:
        """Ratings of agents' chats, oldest first; of one conversation or of all."""
        if session_id:
            return self.db.rows("SELECT * FROM ratings WHERE chat_id IS NOT NULL AND session_id = ?"
                                " ORDER BY id", (session_id,))
        return self.db.rows("SELECT * FROM ratings WHERE chat_id IS NOT NULL ORDER BY id")

    def csat(self) -> list[Row]:
        """Average rating and count per agent and queue (chats an agent handled)."""
        return self.db.rows(
            "SELECT agent, queue_id, count(*) AS ratings, round(avg(score), 2) AS average"
            " FROM ratings WHERE chat_id IS NOT NULL GROUP BY agent, queue_id ORDER BY agent, queue_id")
