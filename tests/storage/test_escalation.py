"""Escalation and claim are each one transaction: the handoff chat (``handoff_chats``, the one
record of who holds the conversation), the audit row and the visitor's events change together
or not at all, and visitors' sockets get the events only once they are committed.

A real Store, Hub and HandoffService on each backend, a real SQLite file and a real PostgreSQL
database (tests/conftest.py); the failure half-way is a trigger in that database refusing the
visitor's ``state`` frame, the last write of the transaction, after the chat and its notice were
written in it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.hub import Hub
from bot.settings import Settings
from bot.store import Store
from conversation.events import Stored
from handoff.assignment import assign
from handoff.service import HandoffService
from handoff.store import Agent
from storage.backends import open_database
from storage.database import Database, IntegrityError
from storage.sqlite import SQLiteDatabase

SQLITE_FAILURE = """CREATE TRIGGER fail_{state} BEFORE INSERT ON events
    WHEN NEW.type = 'state' AND json_extract(NEW.body, '$.state') = '{state}'
    BEGIN SELECT RAISE(ABORT, 'injected failure'); END"""
# A check violation, so that the layer sees a refused write (IntegrityError) as from SQLite.
POSTGRES_FAILURE = (
    """CREATE FUNCTION fail_state() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        IF NEW.type = 'state' AND NEW.body::jsonb ->> 'state' = TG_ARGV[0] THEN
            RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = 'injected failure';
        END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER fail_{state} BEFORE INSERT ON events FOR EACH ROW
        EXECUTE FUNCTION fail_state('{state}')""")


def inject_failure(db: Database, state: str) -> None:
    """From now on, storing a ``state`` frame that says ``state`` fails."""
    if isinstance(db, SQLiteDatabase):
        db.execute(SQLITE_FAILURE.format(state=state))
        return
    function, trigger = POSTGRES_FAILURE
    db.execute(function)
    db.execute(trigger.format(state=state))


class RecordingHub(Hub):
    """The real hub, noting what it pushes to sockets and whether that was committed by then."""

    def __init__(self, store: Store, target) -> None:
        super().__init__(store)
        self.reader = open_database(target)  # another connection: sees only committed rows
        self.pushed: list[tuple[dict, int]] = []

    def push_stored(self, session_id: str, stored: Stored) -> None:
        committed = self.reader.value("SELECT count(*) FROM events WHERE session_id = ? AND seq = ?",
                                      (session_id, stored.seq))
        self.pushed.append((stored.to_wire(), committed))
        super().push_stored(session_id, stored)


@pytest.fixture
async def rig(tmp_path, database_target):
    url = None if isinstance(database_target, Path) else database_target
    settings = Settings(data_dir=tmp_path, database_url=url)
    store = Store(settings.database)
    hub = RecordingHub(store, settings.database)
    service = HandoffService(settings, hub, None, database=hub.database)
    await service.start()
    yield store, hub, service
    await service.stop()
    hub.reader.close()
    store.close()


def snapshot(store: Store, sid: str) -> tuple:
    db = store.database
    return ((store.session(sid).state, store.session(sid).last_seq),
            db.value("SELECT count(*) FROM events"),
            db.value("SELECT count(*) FROM handoff_chats"),
            db.value("SELECT count(*) FROM handoff_audit"))


async def escalate(service: HandoffService, sid: str) -> None:
    await service.escalate(sid, lang="en", business_option=None, region=None, overseas=False,
                           summary="lost passport", reason="explicit_request")


async def test_a_failure_mid_escalation_leaves_neither_table_changed(rig):
    store, hub, service = rig
    session, _ = store.create_session(lang="en", locked=True, channel="web")
    before = snapshot(store, session.id)
    inject_failure(store.database, "queued")

    with pytest.raises(IntegrityError, match="injected failure"):
        await escalate(service, session.id)

    assert snapshot(store, session.id) == before  # no chat, no audit row, no event, still 'bot'
    assert before[0] == ("bot", 0) and before[2] == 0
    assert hub.pushed == []  # nothing reached a socket
    assert not store.database.in_transaction


async def test_an_escalation_commits_both_tables_and_then_pushes(rig):
    store, hub, service = rig
    session, _ = store.create_session(lang="en", locked=True, channel="web")

    await escalate(service, session.id)

    state, last_seq = store.session(session.id).state, store.session(session.id).last_seq
    chats = store.database.rows("SELECT status FROM handoff_chats WHERE session_id = ?", (session.id,))
    assert state == "queued" and chats == [{"status": "queued"}]
    assert [frame["type"] for frame, _ in hub.pushed] == ["reply", "state"]
    assert all(committed == 1 for _, committed in hub.pushed)  # pushed once committed
    assert last_seq == 2


async def test_a_failure_mid_claim_leaves_the_chat_waiting(rig):
    store, hub, service = rig
    session, _ = store.create_session(lang="en", locked=True, channel="web")
    await escalate(service, session.id)
    db = service.context.db()
    db.add_agent(Agent("li", "Li", "agent", ["*"], ["en"], 3, "x"))
    chat = db.active_chat(session.id)
    before = snapshot(store, session.id)
    pushed = len(hub.pushed)
    inject_failure(store.database, "agent")

    with pytest.raises(IntegrityError, match="injected failure"):
        await assign(service.context, chat.id, "li", "li", "claim")

    assert snapshot(store, session.id) == before
    assert (db.chat(chat.id).status, db.chat(chat.id).owner) == ("queued", None)
    assert len(hub.pushed) == pushed


async def test_a_rating_is_one_row_of_the_one_ratings_table(rig):
    store, hub, service = rig
    session, _ = store.create_session(lang="en", locked=True, channel="web")

    await service.on_rating(session.id, 4, "quick")  # no agent's chat: a rating of the bot

    assert store.database.rows("SELECT score, comment, chat_id, agent FROM ratings") == [
        {"score": 4, "comment": "quick", "chat_id": None, "agent": None}]
    assert service.context.db().ratings() == [] and store.database.value(
        "SELECT count(*) FROM handoff_audit WHERE action = 'rating'") == 0
