"""The conversation owner on each backend, a real SQLite file and a real PostgreSQL database
(tests/conftest.py), with the real Store and Hub: each change is one transaction, the holder
reads back from the one record, and of two simultaneous claims of one chat exactly one wins."""

from __future__ import annotations

import asyncio

import pytest

from bot.hub import Hub
from bot.store import Store
from conversation.channel import Notice
from conversation.lifecycle import (
    Claim,
    Close,
    Conversation,
    Escalate,
    HandBack,
    Holder,
    LeaveMessage,
    Reassign,
    Reopen,
    Requeue,
    Resolve,
)
from conversation.owner import ConversationOwner, Rejected
from storage.agents import Agent, Agents
from storage.chats import NewChat


def opening(queue: str = "en-q") -> NewChat:
    return NewChat(queue, "en", None, None, None, False, "lost passport", "explicit_request", "r")


class Rig:
    def __init__(self, database_target) -> None:
        self.store = Store(database_target)
        self.hub = Hub(self.store)
        self.changed: list[int] = []
        self.owner = ConversationOwner(self.store.database, self.hub, place=lambda chat_id: (1, 60),
                                       chat_changed=self.changed.append)
        Agents(self.store.database).add(Agent("li", "Li Ming", "agent", ["*"], ["en"], 3, "x"), 0.0)
        Agents(self.store.database).add(Agent("wang", "Wang", "agent", ["*"], ["en"], 3, "x"), 0.0)

    def conversation(self) -> str:
        session, _ = self.store.create_session(lang="en", locked=True, channel="web")
        return session.id

    def frames(self, sid: str) -> list[dict]:
        return [e.to_wire() for e in self.store.transcript(sid) if e.event.type == "state"]


@pytest.fixture
def rig(database_target):
    r = Rig(database_target)
    yield r
    r.store.close()


async def test_a_conversation_through_every_holder_reads_back_from_one_record(rig):
    sid = rig.conversation()
    steps = [(Escalate("en-q"), {"opening": opening()}, Conversation(Holder.QUEUED, queue="en-q")),
             (Claim("li"), {}, Conversation(Holder.AGENT, queue="en-q", agent="li")),
             (Reassign("wang"), {}, Conversation(Holder.AGENT, queue="en-q", agent="wang")),
             (Requeue("zh-q"), {}, Conversation(Holder.QUEUED, queue="zh-q")),
             (LeaveMessage(), {}, Conversation(Holder.QUEUED, queue="zh-q", leaving_message=True)),
             (Claim("li"), {}, Conversation(Holder.AGENT, queue="zh-q", agent="li")),
             (Resolve(), {}, Conversation(Holder.CLOSED)),
             (Reopen(), {}, Conversation()),
             (Close(), {}, Conversation(Holder.CLOSED))]
    for event, extra, expected in steps:
        await rig.owner.apply(sid, event, **extra)
        assert rig.owner.current(sid) == expected, event
        assert rig.store.session(sid).state == expected.holder  # what the server reads
    # Each change of holder told the visitor once, in order, with the agent's display name.
    told = [(f["state"], f.get("queue"), f.get("agent"), f.get("rating")) for f in rig.frames(sid)]
    assert told == [("queued", "en-q", None, None), ("agent", None, "Li Ming", None),
                    ("agent", None, "Wang", None), ("queued", "zh-q", None, None),
                    ("agent", None, "Li Ming", None), ("closed", None, None, True),
                    ("bot", None, None, None), ("closed", None, None, None)]
    chat = rig.store.database.row("SELECT status, outcome, owner FROM handoff_chats")
    assert chat == {"status": "closed", "outcome": "resolved", "owner": "li"}


async def test_two_simultaneous_claims_of_one_chat_one_wins(rig):
    sid = rig.conversation()
    change = await rig.owner.apply(sid, Escalate("en-q"), opening=opening())
    waiting = change.after

    results = await asyncio.gather(rig.owner.apply(sid, Claim("li"), about=waiting),
                                   rig.owner.apply(sid, Claim("wang"), about=waiting),
                                   return_exceptions=True)

    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], Rejected)
    assert rig.owner.current(sid).agent == won[0].after.owner
    assert [f["state"] for f in rig.frames(sid)] == ["queued", "agent"]  # one "agent" frame


async def test_two_processes_claiming_one_chat_one_wins(rig, database_target):
    """A second owner on its own connection to the database (another process): in SQLite the
    write lock taken when the transaction begins lets only one claim read the chat still
    waiting; in PostgreSQL the claim is a conditional UPDATE that only a chat still waiting
    satisfies (threads racing on it: tests/storage/test_repositories.py)."""
    other_store = Store(database_target)
    other = ConversationOwner(other_store.database, Hub(other_store), place=lambda chat_id: (1, 60),
                              chat_changed=lambda chat_id: None)
    sid = rig.conversation()
    waiting = (await rig.owner.apply(sid, Escalate("en-q"), opening=opening())).after

    results = await asyncio.gather(rig.owner.apply(sid, Claim("li"), about=waiting),
                                   other.apply(sid, Claim("wang"), about=waiting),
                                   return_exceptions=True)

    assert sum(isinstance(r, Rejected) for r in results) == 1
    assert rig.owner.current(sid) == other.current(sid)
    other_store.close()


async def test_a_refused_event_changes_nothing_and_says_why(rig):
    sid = rig.conversation()
    before = rig.store.transcript(sid)
    with pytest.raises(Rejected, match="Resolve does not apply to a bot conversation"):
        await rig.owner.apply(sid, Resolve())
    assert rig.owner.current(sid) == Conversation() and rig.store.transcript(sid) == before


async def test_a_change_about_a_chat_that_changed_meanwhile_is_rejected(rig):
    sid = rig.conversation()
    waiting = (await rig.owner.apply(sid, Escalate("en-q"), opening=opening())).after
    await rig.owner.apply(sid, Claim("li"), about=waiting)
    claimed = rig.store.database.row("SELECT * FROM handoff_chats")
    await rig.owner.apply(sid, HandBack())
    with pytest.raises(Rejected, match="changed meanwhile"):
        await rig.owner.apply(sid, Claim("wang"), about=waiting)
    assert claimed is not None and rig.owner.current(sid) == Conversation()


async def test_a_failure_in_the_callers_part_undoes_the_whole_change(rig):
    sid = rig.conversation()
    with pytest.raises(RuntimeError, match="audit failed"):
        async with rig.owner.change(sid, Escalate("en-q"), opening=opening()):
            await rig.hub.say(sid, Notice("You are in the queue."))
            raise RuntimeError("audit failed")
    assert rig.owner.current(sid) == Conversation()
    assert rig.store.transcript(sid) == [] and rig.changed == []
    assert rig.store.database.value("SELECT count(*) FROM handoff_chats") == 0


async def test_agents_hear_of_a_chat_only_once_its_change_committed(rig):
    sid = rig.conversation()
    async with rig.owner.change(sid, Escalate("en-q"), opening=opening()) as change:
        assert rig.changed == []
    assert change.after is not None and rig.changed == [change.after.id]
    await rig.owner.apply(sid, Close())  # the visitor's own close ends the waiting chat
    assert rig.changed == [change.after.id] * 2
    assert rig.store.database.row("SELECT status, outcome FROM handoff_chats") == {
        "status": "closed", "outcome": "visitor_closed"}


async def test_a_change_cannot_join_a_transaction_already_open(rig):
    sid = rig.conversation()
    with rig.store.database.transaction(), pytest.raises(RuntimeError, match="of its own"):
        await rig.owner.apply(sid, Close())
