"""The repositories of storage/ on both backends, a real SQLite file and a real PostgreSQL
database (tests/conftest.py): what each writes reads back the same, JSON edited inside the
database keeps the rest, and of writers racing on two connections exactly one wins."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from storage.agents import Agent, Agents
from storage.audit import Audit
from storage.backends import open_database
from storage.chats import Chats, NewChat, snippet
from storage.conversations import Conversations, TurnWrites
from storage.database import Database, IntegrityError
from storage.ratings import Rated, Ratings
from storage.tickets import Tickets

NOW = 1_780_000_000.25  # a fraction of a second, which a 4-byte float would lose


def opening(queue: str = "en-q", summary: str = "lost passport") -> NewChat:
    return NewChat(queue, "en", "passport", None, None, False, summary, "explicit_request", "r")


def conversation(db: Database, sid: str = "s1") -> Conversations:
    conversations = Conversations(db)
    conversations.create(sid, f"hash-{sid}", lang="en", locked=True, channel="web", now=NOW)
    return conversations


def test_a_conversation_and_its_events_read_back(db):
    conversations = conversation(db)
    session = conversations.get("s1")
    assert (session.state, session.lang_locked, session.created_at, session.last_seq) == (
        "bot", True, NOW, 0)
    conversations.update("s1", {"lang": "zh", "lang_locked": False}, NOW + 1)
    assert conversations.by_token_hash("hash-s1").lang == "zh"

    first = conversations.append_event("s1", {"type": "visitor", "text": "你好"}, client_id="c1", now=NOW)
    conversations.append_event("s1", {"type": "reply", "text": "Hello"}, client_id=None, now=NOW)
    assert first["seq"] == 1 and conversations.get("s1").last_seq == 2
    with pytest.raises(IntegrityError):  # the same client message twice
        conversations.append_event("s1", {"type": "visitor", "text": "again"}, client_id="c1", now=NOW)
    assert conversations.message_start("s1", "c1").resent == first
    assert conversations.message_start("s1", "c9").resent is None
    assert conversations.message_start("s1", "c9").session == conversations.get("s1")
    assert conversations.message_start("nobody", "c1") is None
    assert conversations.turn_start("s1", 1).replied and not conversations.turn_start("s1", 2).replied
    assert conversations.turn_start("nobody", 1) is None

    conversations.set_event_meta("s1", 1, {"feedback": "up", "sources": ["a"]})
    assert conversations.events("s1", after_seq=0)[0] == {**first, "meta": {"feedback": "up", "sources": ["a"]}}
    with pytest.raises(LookupError):
        conversations.append_event("nobody", {"type": "visitor"}, client_id=None, now=NOW)


def test_a_turns_writes_inside_a_failed_transaction_leave_nothing(db):
    """The bot's turn writes its context, the session and a reply in one transaction: if it
    fails, none of them is kept."""
    conversations = conversation(db)
    conversations.save_context("s1", {"lang": "en"})
    with pytest.raises(RuntimeError), db.transaction():
        conversations.save_context("s1", {"lang": "zh"})
        conversations.update("s1", {"lang": "zh"}, NOW + 1)
        conversations.append_event("s1", {"type": "reply", "text": "你好"}, client_id=None, now=NOW)
        raise RuntimeError("the turn fails")
    assert conversations.context("s1") == {"lang": "en"}
    assert (conversations.get("s1").lang, conversations.get("s1").last_seq) == ("en", 0)
    assert conversations.events("s1") == []


def test_context_transfers_and_feedback(db):
    conversations = conversation(db)
    assert conversations.context("s1") == {}
    conversations.save_context("s1", {"slots": {"城市": "北京"}})
    assert conversations.context("s1") == {"slots": {"城市": "北京"}}
    start = conversations.turn_start("s1", 0)
    assert (start.session.id, start.context) == ("s1", {"slots": {"城市": "北京"}})
    conversations.add_transfer("t1", "s1", expires_at=NOW + 60)
    assert conversations.transfer_live("t1", NOW)
    assert conversations.consume_transfer("t1", NOW) == "s1"
    assert conversations.consume_transfer("t1", NOW) is None  # once only
    conversations.add_feedback("s1", 1, "up", NOW)
    conversations.set_closed("s1", True)
    assert conversations.get("s1").state == "closed"


def test_a_chat_through_its_owners(db):
    conversation(db)
    chats = Chats(db)
    chat_id = chats.open("s1", opening(), NOW)
    assert chats.active_of("s1").id == chat_id and chats.waiting_rows() == [(chat_id, "en-q", "en", NOW)]
    assert Conversations(db).get("s1").state == "queued"
    with pytest.raises(IntegrityError):  # one open chat per conversation
        chats.open("s1", opening(), NOW)
    assert chats.claim(chat_id, "li", NOW + 10) and not chats.claim(chat_id, "wang", NOW + 10)
    assert not chats.give_to(chat_id, "wang", "zhao", NOW)  # not wang's to give
    assert chats.give_to(chat_id, "li", "wang", NOW + 20)
    assert chats.move_to_queue(chat_id, "wang", "zh-q", NOW + 30)
    assert chats.queue_stats() == {"zh-q": (1, NOW)}
    assert chats.claim(chat_id, "li", NOW + 40)
    assert chats.owned_rows() == [(chat_id, "li", "zh-q")]
    assert not chats.end(chat_id, status="closed", outcome="resolved", now=NOW + 50, owner="wang",
                         check_owner=True)
    assert chats.end(chat_id, status="closed", outcome="resolved", now=NOW + 100, owner="li",
                     check_owner=True)
    assert chats.handle_times("zh-q", 5) == [60.0]
    assert chats.last_of("s1").outcome == "resolved" and chats.active() == []


def test_search_finds_messages_and_summaries_literally(db):
    conversations = conversation(db)
    conversation(db, "s2")
    chats = Chats(db)
    first = chats.open("s1", opening(summary="护照遗失"), NOW)
    second = chats.open("s2", opening(summary="100% refund_please"), NOW)
    conversations.append_event("s1", {"type": "visitor", "text": "我的护照丢了"}, client_id=None, now=NOW)
    chats.add_note(first, "li", "note", "called back", NOW)

    assert [(r["id"], snippet(r)) for r in chats.search("护照")] == [(first, "我的护照丢了")]
    assert [r["id"] for r in chats.search("遗失")] == [first]  # the summary only
    assert [r["id"] for r in chats.search("100%")] == [second]  # % and _ are literal
    assert chats.search("fun_") == []
    assert [r["id"] for r in chats.search("REFUND")] == [second]  # ASCII letters in any case
    assert chats.notes("s1") == [{"ts": NOW, "author": "li", "kind": "note", "text": "called back"}]


def test_agents_tokens_and_lockouts(db):
    agents = Agents(db)
    agents.add(Agent("li", "Li Ming", "agent", ["en-q"], ["en", "zh"], 3, "hash"), NOW)
    with pytest.raises(IntegrityError):
        agents.add(Agent("li", "Other", "agent", ["*"], ["en"], 1, "hash"), NOW)
    assert agents.get("li").langs == ["en", "zh"] and [a.username for a in agents.all()] == ["li"]
    agents.add_token("tok", "li", NOW, NOW + 60)
    assert agents.token_user("tok", NOW) == "li"
    assert agents.set_disabled("li", True) and agents.token_user("tok", NOW) is None
    assert agents.set_password("li", "new") and not agents.set_password("nobody", "new")

    assert [agents.record_failure("li", NOW + i, 60) for i in range(3)] == [1, 2, 3]
    assert agents.failures("li", NOW + 2, 60) == (3, NOW + 2)
    agents.lock("li", NOW + 300)
    agents.lock("li", NOW + 600)  # again: the later lock replaces the first
    assert agents.locked_until("li") == NOW + 600 and agents.failures("li", NOW, 60) == (0, 0.0)
    agents.clear_failures("li")
    assert agents.locked_until("li") == 0.0


def test_tickets_ratings_and_audit(db):
    conversation(db)
    chat_id = Chats(db).open("s1", opening(), NOW)
    tickets = Tickets(db)
    ticket_id = tickets.add("s1", chat_id, "en-q", "en", "call me", NOW)
    ref = tickets.get(ticket_id)["ref"]
    assert tickets.by_ref(ref.lower().replace("-", ""))["id"] == ticket_id
    assert tickets.close(ticket_id, "li", "done", NOW) and not tickets.close(ticket_id, "li", "x", NOW)
    assert tickets.all() == [] and len(tickets.all(status=None)) == 1

    ratings = Ratings(db)
    ratings.add("s1", 5, None, NOW, Rated(chat_id, "li", "en-q"))
    ratings.add("s1", 4, "ok", NOW, Rated(chat_id, "li", "en-q"))
    ratings.add("s1", 1, None, NOW)  # the bot's
    assert [r["score"] for r in ratings.of_agents("s1")] == [5, 4]
    assert ratings.csat() == [{"agent": "li", "queue_id": "en-q", "ratings": 2, "average": 4.5}]

    audit = Audit(db)
    audit.add(NOW, "li", "claim", "s1", {"chat": chat_id, "ip": "10.0.0.1"})
    audit.add(NOW, "wang", "note", "s1", {"note": "备注"})
    assert [(r["actor"], r["detail"]) for r in audit.log(session_id="s1")] == [
        ("li", {"chat": chat_id, "ip": "10.0.0.1"}), ("wang", {"note": "备注"})]
    assert [r["action"] for r in audit.log(limit=1)] == ["note"]
    assert audit.last_actor("s1", ("claim", "release")) == "li"


def race(database_target, attempts: int, act: Callable[[Database], object]) -> list[object]:
    """``act`` on ``attempts`` connections of their own at once (one per thread, as the layer
    requires), released together."""
    start = threading.Barrier(attempts)
    connections = [open_database(database_target) for _ in range(attempts)]

    def attempt(connection: Database) -> object:
        start.wait()
        return act(connection)

    try:
        with ThreadPoolExecutor(attempts) as pool:
            return list(pool.map(attempt, connections))
    finally:
        for connection in connections:
            connection.close()


def test_of_simultaneous_claims_on_two_connections_exactly_one_wins(db, database_target):
    conversation(db)
    chat_id = Chats(db).open("s1", opening(), NOW)
    names = iter(["li", "wang", "zhao", "qian"])
    lock = threading.Lock()

    def claim(connection: Database) -> object:
        with lock:
            name = next(names)
        return Chats(connection).claim(chat_id, name, NOW)

    assert sorted(race(database_target, 4, claim)) == [False, False, False, True]
    assert Chats(db).get(chat_id).status == "agent"


def test_simultaneous_events_of_one_conversation_get_consecutive_seqs(db, database_target):
    conversation(db)

    def append(connection: Database) -> object:
        conversations = Conversations(connection)
        return [conversations.append_event("s1", {"type": "visitor"}, client_id=None, now=NOW)["seq"]
                for _ in range(10)]

    seqs = sorted(seq for batch in race(database_target, 3, append) for seq in batch)
    assert seqs == list(range(1, 31))


def test_a_bot_turn_stored_at_once_reads_back_as_its_steps_would(db):
    """The turn's writes and replies in one call (one statement on PostgreSQL): the session, its
    context, the reading on the visitor's message and the numbered replies, as the separate
    statements write them."""
    conversations = conversation(db)
    asked = conversations.append_event("s1", {"type": "visitor", "text": "签证"}, client_id="c1", now=NOW)
    turn = TurnWrites(lang="zh", script="zh-Hant", lang_locked=False, context={"topic": "签证"},
                      read_seq=asked["seq"], reading={"intent": "visa", "confidence": 0.9})
    replies = [{"type": "reply", "text": "一", "meta": {"kind": "answer"}},
               {"type": "reply", "text": "二 \"quoted\" }", "quick_replies": []}]
    stored = conversations.record_turn("s1", turn, replies, NOW + 1, [None, None])
    assert [s["seq"] for s in stored] == [2, 3]
    assert conversations.events("s1") == [{**asked, "meta": turn.reading}, *stored]
    session = conversations.get("s1")
    assert (session.lang, session.script, session.lang_locked, session.last_seq, session.last_seen) == (
        "zh", "zh-Hant", False, 3, NOW + 1)
    assert conversations.context("s1") == {"topic": "签证"}

    quiet = TurnWrites(lang="en", script="en", lang_locked=True, context={})
    assert conversations.record_turn("s1", quiet, [], NOW + 2, []) == []
    assert (conversations.get("s1").lang, conversations.get("s1").last_seq) == ("en", 3)
    assert conversations.events("s1", after_seq=3) == []
    with pytest.raises(LookupError):
        conversations.record_turn("nobody", quiet, replies, NOW, [None, None])
    with pytest.raises(RuntimeError), db.transaction():  # inside a failed transaction: nothing kept
        conversations.record_turn("s1", turn, replies, NOW + 3, [None, None])
        raise RuntimeError("the caller fails")
    assert (conversations.get("s1").lang, conversations.get("s1").last_seq) == ("en", 3)


def test_turns_and_messages_at_once_get_consecutive_seqs(db, database_target):
    conversation(db)
    turn = TurnWrites(lang="en", script="en", lang_locked=False, context={})

    def write(connection: Database) -> object:
        conversations = Conversations(connection)
        seqs = []
        for _ in range(5):
            seqs.append(conversations.append_event("s1", {"type": "visitor"}, client_id=None, now=NOW)["seq"])
            two = [{"type": "reply", "text": "a"}, {"type": "reply", "text": "b"}]
            seqs += [s["seq"] for s in conversations.record_turn("s1", turn, two, NOW, [None, None])]
        return seqs

    seqs = sorted(seq for batch in race(database_target, 3, write) for seq in batch)
    assert seqs == list(range(1, 46))
    assert [e["seq"] for e in Conversations(db).events("s1")] == seqs
