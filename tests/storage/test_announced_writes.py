"""On PostgreSQL a stored event announces itself, in the statement that numbers it: the other
server processes are told its seq once it has committed, and never when it rolled back."""

from __future__ import annotations

import psycopg
import pytest

from storage.backends import open_database
from storage.conversations import Conversations, TurnWrites
from storage.database import SeqNotice

NOW = 1_780_000_000.0
CHANNEL = "test_live"


@pytest.fixture
def listener(postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f"LISTEN {CHANNEL}")
        yield connection


def heard(listener: psycopg.Connection) -> list[str]:
    return [n.payload for n in listener.notifies(timeout=0.5)]


def notice(tail: str) -> SeqNotice:
    return SeqNotice(CHANNEL, "node|event|s1:", tail)


def test_events_and_turns_announce_their_seqs_once_committed(postgres_url, listener):
    db = open_database(postgres_url)
    try:
        conversations = Conversations(db)
        conversations.create("s1", "hash", lang="en", locked=False, channel="web", now=NOW)
        conversations.append_event("s1", {"type": "visitor", "text": "hi"}, client_id="c1", now=NOW,
                                   notice=notice(":c"))
        assert heard(listener) == ["node|event|s1:1:c"]

        turn = TurnWrites(lang="en", script="en", lang_locked=False, context={}, read_seq=1,
                          reading={"intent": "greet"})
        replies = [{"type": "reply", "text": "Hello"}, {"type": "state", "state": "queued"}]
        conversations.record_turn("s1", turn, replies, NOW, [notice(":v"), notice(":c")])
        assert heard(listener) == ["node|event|s1:2:v", "node|event|s1:3:c"]

        with db.transaction():  # inside a transaction: told at its commit, not before
            conversations.append_event("s1", {"type": "reply", "text": "a"}, client_id=None, now=NOW,
                                       notice=notice(":v"))
            assert heard(listener) == []
        assert heard(listener) == ["node|event|s1:4:v"]

        with pytest.raises(RuntimeError), db.transaction():
            conversations.record_turn("s1", turn, replies[:1], NOW, [notice(":v")])
            raise RuntimeError("rolled back")
        assert heard(listener) == []
        assert conversations.get("s1").last_seq == 4
    finally:
        db.close()
