"""Retention: personal data leaves the database once a conversation has been inactive longer than
CHAT_RETENTION_S, gone from the file's bytes too (SQLite), or from every row version, dead ones
included (PostgreSQL); the figures operators count stay.

The first tests use the real stores on each backend (a real SQLite file, a throwaway PostgreSQL
server) and the purge with a given clock; then ``python -m bot purge`` and a server on
PostgreSQL; the last two run a real server on SQLite: one purged by ``python -m bot purge
--as-of`` while it serves (visitors and an agent over real websockets), one that purges on its own.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.retention import Policy, Report, purge
from bot.settings import Settings
from bot.store import Store
from handoff.store import Chat, HandoffStore
from storage.backends import open_database
from storage.chats import NewChat
from storage.database import Database
from tests.conftest import ROOT, ServerProcess, server_env
from tests.handoff.helpers import AgentClient, add_agent, waiting_ids

DAY = 24 * 3600.0
POLICY = Policy(retention_s=90 * DAY, audit_retention_s=365 * DAY, login_window_s=900)


def append_raw(store: Store, session_id: str, event: dict, client_id: str | None = None) -> dict:
    """An event object stored as it is given (what a purge must handle, whatever its shape)."""
    return store.conversations.append_event(session_id, event, client_id=client_id, now=time.time())


def file_bytes(data_dir: Path) -> bytes:
    """Everything SQLite keeps on disk for the store: the database, its WAL and shared memory."""
    return b"".join(path.read_bytes() for path in sorted(data_dir.glob("chat.sqlite3*")))


# Every row version (live, or dead and not yet vacuumed) in every page of the schema's tables
# whose bytes hold the parameter: what PostgreSQL could still read back, by a query or a snapshot.
ROW_VERSIONS_HOLDING = """SELECT count(*) FROM pg_class c,
  generate_series(0, pg_relation_size(c.oid) / current_setting('block_size')::int - 1) AS block,
  heap_page_items(get_raw_page(c.relname, block::int)) AS item
WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace
  AND position(?::bytea in item.t_data) > 0"""


def stored(target: Path | str, text: str) -> bool:
    """Whether ``text`` is still in the database: in SQLite's files (free space, WAL included),
    or in a PostgreSQL table's row versions, the dead ones VACUUM has not yet removed included."""
    if isinstance(target, Path):
        return text.encode() in file_bytes(target.parent)
    db = open_database(target)
    try:
        db.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        return db.value(ROW_VERSIONS_HOLDING, (text.encode(),)) > 0
    finally:
        db.close()


def backdate(db: Database, session_id: str, days: float) -> None:
    """Make a conversation (and its audit rows) look inactive for ``days``."""
    then = time.time() - days * DAY
    db.execute("UPDATE sessions SET last_seen = ? WHERE id = ?", (then, session_id))
    db.execute("UPDATE handoff_audit SET ts = ? WHERE session_id = ?", (then, session_id))


def conversation(store: Store, handoff: HandoffStore, marker: str) -> tuple[str, str, Chat]:
    """A conversation holding ``marker`` everywhere a visitor's words or an agent's can be:
    messages, the NLU's entities, context, rating, handoff summary, note, ticket and its answer,
    agent rating, audit note; plus a live continue-on-phone link."""
    session, token = store.create_session(lang="en", locked=False, channel="web")
    sid = session.id
    append_raw(store, sid, {"type": "visitor", "id": "m1", "text": f"{marker} passport E1234567",
                             "ts": "2026-01-01T00:00:00Z"}, client_id="m1")
    store.set_event_meta(sid, 1, {"intent": "lost_passport", "lang": "en",
                                  "entities": [{"type": "name", "value": marker}]})
    append_raw(store, sid, {"type": "reply", "from": "bot", "text": f"About {marker}",
                             "meta": {"kind": "answer"}, "ts": "2026-01-01T00:00:01Z"})
    append_raw(store, sid, {"type": "reply", "from": "agent", "text": f"Agent to {marker}",
                             "meta": {"kind": "agent", "agent": "Li"}})
    store.save_context(sid, {"lang": "en", "last_question": f"{marker} passport"})
    store.add_rating(sid, 2, f"{marker} was slow")
    store.add_feedback(sid, 2, "up")
    store.create_transfer(sid, 3600)
    chat_id = handoff.chats_repo.open(sid, NewChat(
        "nia-service-center", "en", None, "guangdong", "深圳", False, f"{marker} lost passport",
        "explicit_request", "en:service_center"), time.time())
    handoff.chats_repo.end(chat_id, status="closed", outcome="resolved", now=time.time())
    chat = handoff.chat(chat_id)
    assert chat is not None
    handoff.add_note(chat.id, "li", "note", f"{marker} called twice")
    ticket = handoff.add_ticket(sid, chat.id, "nia-service-center", "en", f"{marker} email me")
    handoff.close_ticket(ticket, "li", f"Dear {marker}, done")
    handoff.add_rating(sid, handoff.chat(chat.id), 4, f"{marker} thanks Li")
    handoff.audit("li", "resolve", sid, chat=chat.id, note=f"{marker} solved")
    return sid, token, chat


@pytest.fixture
def stores(database_target):
    """The conversation and handoff stores on the database, once per backend."""
    store = Store(database_target)
    handoff = HandoffStore(database_target)
    yield store, handoff
    handoff.close()
    store.close()


def test_an_old_conversation_loses_its_text_and_keeps_its_figures(database_target, stores):
    store, handoff = stores
    old, old_token, old_chat = conversation(store, handoff, "OLD-7Q2")
    recent, recent_token, _ = conversation(store, handoff, "RECENT-4K9")
    backdate(store.database, old, days=91)
    assert stored(database_target, "OLD-7Q2")

    dry = purge(database_target, POLICY, now=time.time(), dry_run=True)
    assert stored(database_target, "OLD-7Q2") and store.session(old).purged_at is None
    done = purge(database_target, POLICY, now=time.time())

    assert done.counts == dry.counts  # a dry run counts exactly what the purge then removes
    assert done.sessions == [old] and done.reclaimed is True
    expected = {"conversations": 1, "events": 3, "transfer links": 1, "rating comments": 1,
                "handoff chats": 1, "agent notes": 1, "tickets": 1, "agent rating comments": 1,
                "audit details": 1}
    assert {kind: n for kind, n in done.counts.items() if n} == expected
    assert not stored(database_target, "OLD-7Q2")
    # The recent one's passport and words are still there.
    assert stored(database_target, "E1234567") and stored(database_target, "RECENT-4K9")

    # The visitor's resume token no longer opens anything (not even with a longer session TTL);
    # the recent one still does.
    store.session_ttl_s = 365 * DAY
    assert store.session_by_token(old_token) is None
    assert store.session_by_token(recent_token).id == recent
    # What operators count is still there.
    kept, kept_events = store.session(old), store.conversations.events(old)
    assert (kept.last_seq, kept.channel, kept.lang, kept.purged_at is not None) == (3, "web", "en", True)
    assert store.context(old) == {}
    assert store.conversations.events(old) == kept_events == [
        {"type": "visitor", "seq": 1, "ts": "2026-01-01T00:00:00Z",
         "meta": {"intent": "lost_passport", "lang": "en"}},
        {"type": "reply", "seq": 2, "ts": "2026-01-01T00:00:01Z", "from": "bot",
         "meta": {"kind": "answer"}},
        {"type": "reply", "seq": 3, "from": "agent", "meta": {"kind": "agent"}}]
    # The ratings of the bot (chat_id NULL) and of the agent's chat share one table.
    assert store.database.rows("SELECT score, comment FROM ratings"
                               " WHERE session_id = ? AND chat_id IS NULL",
                               (old,)) == [{"score": 2, "comment": None}]
    assert store.database.rows("SELECT seq, value FROM feedback WHERE session_id = ?",
                               (old,)) == [{"seq": 2, "value": "up"}]
    chat = handoff.chat(old_chat.id)
    assert (chat.summary, chat.outcome, chat.region, chat.owner is None) == ("", "resolved", "guangdong", True)
    assert handoff.notes(old) == []
    ticket = handoff.tickets(None)[0]
    assert (ticket["text"], ticket["reply"], ticket["status"]) == ("", None, "closed")
    assert ticket["ref"].startswith("T-") and ticket["purged_at"] is not None
    assert [(r["score"], r["comment"]) for r in handoff.ratings(old)] == [(4, None)]
    audit = next(handoff.audit_log(session_id=old))
    assert audit["action"] == "resolve" and audit["detail"] == {"chat": old_chat.id}

    again = purge(database_target, POLICY, now=time.time())
    assert not any(again.counts.values())  # purged once: nothing left to purge
    assert again.reclaimed is None and store.conversations.events(old) == kept_events


def test_conversations_still_being_worked_on_are_kept(database_target, stores):
    store, handoff = stores
    waiting, _, _ = conversation(store, handoff, "QUEUED-1")
    handoff.chats_repo.open(waiting, NewChat("nia-service-center", "en", None, None, None, False,
                                             "QUEUED-1 again", "explicit_request", "r"), time.time())
    unanswered, _, _ = conversation(store, handoff, "TICKET-2")
    handoff.add_ticket(unanswered, None, "nia-service-center", "en", "TICKET-2 open question")
    for sid in (waiting, unanswered):
        backdate(store.database, sid, days=200)

    done = purge(database_target, POLICY, now=time.time())

    assert done.sessions == []
    assert stored(database_target, "QUEUED-1") and stored(database_target, "TICKET-2")


def waits_for_a_lock(target: Path | str) -> None:
    """Until another connection waits for a lock: on PostgreSQL as its server says; SQLite's
    writers poll for the file's lock unseen, so there half a second (the purge's own reads take a
    few milliseconds)."""
    if isinstance(target, Path):
        time.sleep(0.5)
        return
    db = open_database(target)
    try:
        deadline = time.monotonic() + 10
        while not db.value("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"):
            assert time.monotonic() < deadline, "nobody waits for a lock"
            time.sleep(0.05)
    finally:
        db.close()


def test_a_visitor_coming_back_during_the_purge_keeps_their_conversation(database_target,
                                                                         stores):
    """The purge has listed an old conversation when its visitor writes again (the server's
    transaction, not yet committed): the purge waits for it, checks again, and leaves it."""
    store, handoff = stores
    sid, _, _ = conversation(store, handoff, "BACK-3M8")
    backdate(store.database, sid, days=91)
    reports: list[Report] = []
    purging = threading.Thread(
        target=lambda: reports.append(purge(database_target, POLICY, now=time.time())))
    server = open_database(database_target)
    with server.transaction():
        server.execute("UPDATE sessions SET last_seen = ? WHERE id = ?", (time.time(), sid))
        purging.start()
        waits_for_a_lock(database_target)
    purging.join()
    server.close()
    assert reports[0].sessions == [] and reports[0].counts["conversations"] == 0
    assert stored(database_target, "BACK-3M8") and store.session(sid).purged_at is None


def test_logins_tokens_and_audit_rows_keep_to_their_own_windows(database_target, stores):
    store, handoff = stores
    now = time.time()
    db = handoff.database
    db.execute("INSERT INTO handoff_agents VALUES ('li','Li','agent','[\"*\"]','[\"en\"]',"
               "3,'x',0,?)", (now,))
    handoff.add_token("expired", "li", now - 1)
    handoff.add_token("valid", "li", now + 3600)
    handoff.record_failure("?a1b2", now - 10, window_s=900)
    # The last failure: the login throttle forgets older ones only when the next one comes.
    handoff.record_failure("li", now - 1000, window_s=900)
    handoff.lock("wang", now - 5)
    handoff.audit("?a1b2", "login_failed", failures=1, ip="203.0.113.7")
    handoff.audit("li", "login_failed", failures=3, ip="198.51.100.23")
    handoff.audit("li", "login")
    db.execute("UPDATE handoff_audit SET ts = ? WHERE actor = ?", (now - 400 * DAY, "?a1b2"))
    db.execute("UPDATE handoff_audit SET ts = ? WHERE actor = 'li' AND action = 'login_failed'",
               (now - 100 * DAY,))

    done = purge(database_target, POLICY, now=now)

    assert {kind: n for kind, n in done.counts.items() if n} == {
        "agent tokens": 1, "login failures": 1, "login waits": 1, "audit details": 1,
        "audit rows": 1}
    assert db.rows("SELECT token_hash FROM handoff_tokens") == [{"token_hash": "valid"}]
    assert db.rows("SELECT username FROM handoff_login_failures") == [{"username": "?a1b2"}]
    assert db.value("SELECT count(*) FROM handoff_lockouts") == 0
    rows = [(r["actor"], r["action"], r["detail"]) for r in handoff.audit_log()]
    assert rows == [("li", "login_failed", {"failures": 3}), ("li", "login", {})]
    assert not stored(database_target, "203.0.113.7")
    assert not stored(database_target, "198.51.100.23")


def test_the_server_keeps_writing_while_a_long_purge_runs(database_target):
    """Another connection (as the server's) stores messages without pause while 2,000
    conversations are purged (40 batches, over a second): its writes go on throughout, hardly
    any waits, none fails."""
    store = Store(database_target)
    olds = [store.create_session(lang="zh", locked=False, channel="web")[0].id
            for _ in range(2000)]
    for sid in olds:
        append_raw(store, sid, {"type": "visitor", "text": "BATCH-9 我的问题"})
    store.database.execute("UPDATE sessions SET last_seen = ?", (time.time() - 100 * DAY,))
    live, _ = store.create_session(lang="zh", locked=False, channel="web")
    writer = Store(database_target)  # the "server": its own connection
    done = threading.Event()
    waits: list[tuple[float, float]] = []  # (when it started, how long it took)

    def write() -> None:
        while not done.is_set():
            started = time.perf_counter()
            append_raw(writer, live.id, {"type": "visitor", "text": "still here"})
            waits.append((started, time.perf_counter() - started))

    server = threading.Thread(target=write)
    server.start()
    began = time.perf_counter()
    purge(database_target, POLICY, now=time.time())
    ended = time.perf_counter()
    done.set()
    server.join()
    writer.close()
    during = [took for started, took in waits if began <= started <= ended]
    assert ended - began > 1.0 and len(during) > 100
    # Bounds with room for a loaded CI machine (two threads share one GIL there): almost every
    # write is at once, and none waits anywhere near the 10 s after which it would fail.
    took = sorted(took for _, took in waits)
    assert took[int(len(took) * 0.99)] < 0.25 and took[-1] < 2.0
    assert not stored(database_target, "BATCH-9")
    assert all(store.session(sid).purged_at for sid in olds)
    store.close()


def test_retention_settings_are_validated():
    assert Settings().retention_s == 90 * DAY
    for bad in ({"retention_s": 0}, {"audit_retention_s": -1}, {"purge_interval_s": -5},
                {"retention_s": 3600, "session_ttl_s": 7200}):
        with pytest.raises(ValidationError):
            Settings(**bad)
    with pytest.raises(ValidationError, match="CHAT_SESSION_TTL_S"):
        Settings(retention_s=3600)


# On PostgreSQL: the command and the server ----------------------------------------------------

def table_files_hold(url: str, text: str) -> bool:
    """Whether the files of the schema's tables (as the server writes them at a checkpoint) hold
    ``text``, in rows or in the free space of their pages."""
    db = open_database(url)
    try:
        db.execute("CHECKPOINT")
        paths = db.rows("SELECT pg_relation_filepath(oid) AS path FROM pg_class WHERE relkind = 'r'"
                        " AND relnamespace = current_schema()::regnamespace")
        return any(text.encode() in bytes(db.value("SELECT pg_read_binary_file(?)", (row["path"],)))
                   for row in paths)
    finally:
        db.close()


def test_python_m_bot_purge_on_postgres(tmp_path, postgres_url):
    """``python -m bot purge`` purges the database ``CHAT_DATABASE_URL`` names (nothing in the
    data directory); ``--vacuum`` (VACUUM FULL) then leaves no trace of the old text even in the
    free space of the tables' files."""
    store, handoff = Store(postgres_url), HandoffStore(postgres_url)
    old, _, _ = conversation(store, handoff, "OLD-7Q2")
    conversation(store, handoff, "RECENT-4K9")
    backdate(store.database, old, days=91)
    env = server_env(tmp_path / "data", CHAT_DATABASE_URL=postgres_url)

    would = purge_command(tmp_path / "data", env, "--dry-run")
    assert stored(postgres_url, "OLD-7Q2") and store.session(old).purged_at is None
    purged = purge_command(tmp_path / "data", env, "--vacuum")

    assert purged == would
    assert (purged["conversations"], purged["events"], purged["tickets"]) == (1, 3, 1)
    assert store.session(old).purged_at is not None and not stored(postgres_url, "OLD-7Q2")
    assert not table_files_hold(postgres_url, "OLD-7Q2")
    assert table_files_hold(postgres_url, "RECENT-4K9")  # the files were read: the recent is there
    assert purge_command(tmp_path / "data", env) == dict.fromkeys(purged, 0)
    assert not (tmp_path / "data" / "chat.sqlite3").exists()
    handoff.close()
    store.close()


async def test_a_server_on_postgres_purges_on_its_own(postgres_url, start_server, ws_client):
    """In process, without the models: with a retention of 3 s the server purges a visitor's
    conversation from PostgreSQL by itself, and their token starts afresh. (``postgres_url``
    first: its database is dropped after the server and its purge have stopped.)"""
    server = start_server(in_process=True, CHAT_DATABASE_URL=postgres_url, CHAT_RETENTION_S="3",
                          CHAT_SESSION_TTL_S="3", CHAT_PURGE_INTERVAL_S="0.5")
    async with ws_client(server.ws_url) as visitor:
        token = (await visitor.hello(lang="en"))["session"]
        await visitor.send({"type": "message", "id": "m1", "text": f"{MARK} my visa"})
        await visitor.until(lambda f: f["type"] == "ack")
    deadline = time.monotonic() + 30
    while stored(postgres_url, MARK):
        assert time.monotonic() < deadline, "not purged"
        await asyncio.sleep(0.2)
    db = open_database(postgres_url)
    assert db.value("SELECT count(*) FROM sessions WHERE purged_at IS NOT NULL") == 1
    db.close()
    async with ws_client(server.ws_url) as back:
        await back.send({"type": "hello", "session": token, "last_seq": 0, "channel": "web"})
        assert (await back.recv())["code"] == "unknown_session"


# A real server ---------------------------------------------------------------------------------

MARK = "ZQX5521"  # what the visitor and the agent write; nowhere else in the database
KEEP = "WQY7303"  # what a visitor still waiting for an agent writes


def is_state(state: str):
    return lambda f: f["type"] == "state" and f["state"] == state


def system_reply(text: str):
    return lambda f: f["type"] == "reply" and f["from"] == "system" and text in f["text"]


async def escalate_en(visitor, msg_id: str) -> dict:
    await visitor.send({"type": "message", "id": msg_id, "text": "Talk to a person"})
    return await visitor.until(is_state("queued"), timeout=60)


async def newest_waiting(agent: AgentClient, after: int = 0) -> int:
    snap = await agent.queues_until(lambda s: any(i > after for i in waiting_ids(s)), timeout=30)
    return max(waiting_ids(snap))


def purge_command(data_dir: Path, env: dict[str, str], *args: str) -> dict[str, int]:
    """``python -m bot purge``; the count printed for each kind."""
    done = subprocess.run([sys.executable, "-m", "bot", "purge", "--data-dir", str(data_dir),
                           *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return {m["kind"]: int(m["n"]) for m in re.finditer(
        r"^\s+(?P<n>\d+)  (?P<kind>[a-z ]+?)\s{2,}", done.stdout, re.M)}


async def run_purge(server: ServerProcess, *args: str) -> dict[str, int]:
    """``python -m bot purge`` beside the running server."""
    return await asyncio.to_thread(purge_command, server.data_dir, server.env, *args)


def read_db(server: ServerProcess, sql: str, *args) -> list[tuple]:
    db = sqlite3.connect(server.data_dir / "chat.sqlite3")
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


@pytest.mark.timeout(600)
async def test_a_purge_beside_a_running_server(server, ws_client):
    """A visitor talks to the bot, leaves a message, is served by an agent and rates them with a
    comment; another still waits in the queue. ``python -m bot purge --as-of`` (91 days later)
    runs beside the server: the first visitor's words are gone from the file, the figures stay,
    their tab and their token get a new conversation, and the agent sees the chat was removed."""
    add_agent(server.data_dir, "ret_li", name="Li", queues="*", langs="zh,en")
    async with ws_client(server.ws_url) as visitor, ws_client(server.ws_url) as waiting:
        token = (await visitor.hello(lang="en"))["session"]
        await visitor.ask(f"{MARK} how do I extend my visa?", "m1")
        await escalate_en(visitor, "m2")  # nobody online yet: leave a message
        await visitor.send({"type": "message", "id": "m3", "text": "Leave a message"})
        await visitor.until(system_reply("Please write your question"))
        await visitor.send({"type": "message", "id": "m4", "text": f"{MARK} please email me"})
        ref = (await visitor.until(system_reply("number T-")))["meta"]["ticket"]

        li = await AgentClient.open(server.agent_ws_url)
        await li.login("ret_li")
        ticket = next(t for t in (await li.expect("tickets"))["tickets"] if t["ref"] == ref)
        await li.send(type="ticket_reply", ticket=ticket["id"], text=f"Dear {MARK}, see you.")
        await li.expect("ticket_done")
        await escalate_en(visitor, "m5")
        chat = await newest_waiting(li)
        await li.send(type="claim", chat=chat)
        await li.expect("chat")
        await li.send(type="send", chat=chat, text=f"Hello {MARK}", id="a1")
        await li.send(type="note", chat=chat, text=f"{MARK} asked twice")
        await li.expect("notes")
        await li.send(type="resolve", chat=chat, note=f"{MARK} solved")
        await visitor.until(is_state("closed"))
        await visitor.send({"type": "rating", "score": 5, "comment": f"{MARK} very kind"})
        await visitor.until(lambda f: f["type"] == "rated")
        await visitor.send({"type": "transfer_request"})
        await visitor.until(lambda f: f["type"] == "transfer")
        await li.close()
        await waiting.hello(lang="en")
        await waiting.send({"type": "message", "id": "w1", "text": f"{KEEP} Talk to a person"})
        await waiting.until(is_state("queued"), timeout=60)
        assert MARK.encode() in file_bytes(server.data_dir)

        later = datetime.fromtimestamp(time.time() + 91 * DAY, UTC).isoformat()
        would = await run_purge(server, "--dry-run", "--as-of", later)
        assert MARK.encode() in file_bytes(server.data_dir)
        purged = await run_purge(server, "--as-of", later)

        assert purged == would
        assert purged["conversations"] == 1 and purged["events"] >= 20
        for kind in ("transfer links", "tickets", "agent rating comments", "audit details"):
            assert purged[kind] == 1, kind
        assert purged["rating comments"] == 0  # the one rating is of the agent's chat, stored once
        assert purged["handoff chats"] == 2 and purged["agent notes"] == 2  # note, resolve note
        raw = file_bytes(server.data_dir)
        assert MARK.encode() not in raw and KEEP.encode() in raw
        # What operators count stays: the ratings' scores, the chats' outcomes, the ticket's number.
        assert read_db(server, "SELECT score, agent, comment FROM ratings") == [(5, "ret_li", None)]
        assert read_db(server, "SELECT outcome, summary FROM handoff_chats WHERE status != 'queued'"
                       " ORDER BY id") == [("ticket", ""), ("resolved", "")]
        assert read_db(server, "SELECT ref, status, text FROM handoff_tickets") == [(ref, "closed", "")]
        intents = read_db(server, "SELECT json_extract(body, '$.meta.intent') FROM events "
                          "WHERE type = 'visitor' AND json_extract(body, '$.text') IS NULL")
        assert len(intents) == 5 and all(intents)

        # The tab left open gets a new conversation the next time it says something.
        await visitor.send({"type": "message", "id": "m6", "text": "hello again"})
        assert (await visitor.until(lambda f: f["type"] == "error"))["code"] == "hello_required"
        # The visitor waiting for an agent was not touched.
        await waiting.send({"type": "message", "id": "w2", "text": "still there?"})
        await waiting.until(lambda f: f["type"] == "ack" and f["id"] == "w2")

    async with ws_client(server.ws_url) as back:  # the visitor comes back with the old token
        await back.send({"type": "hello", "session": token, "last_seq": 30, "channel": "web"})
        assert (await back.recv())["code"] == "unknown_session"  # the widget: "a new chat started"
        welcome = await back.until(lambda f: f["type"] == "welcome")
        assert welcome["session"] != token and welcome["state"] == "bot"
        greeting = await back.until(lambda f: f["type"] == "reply")
        assert greeting["seq"] <= 2 and MARK not in json.dumps(back.seen)
        assert (await back.ask("How do I extend my visa?", "n1"))["from"] == "bot"
        await back.send({"type": "message", "id": "n2", "text": ref})
        said = await back.until(system_reply(ref))
        assert "deleted on" in said["text"] and MARK not in said["text"]

    li = await AgentClient.open(server.agent_ws_url)  # its old token had expired by then
    await li.login("ret_li")
    await li.send(type="view", chat=chat)
    opened = await li.expect("chat")
    assert opened["chat"]["purged_at"] and opened["transcript"] == [] and opened["notes"] == []
    assert opened["history"][0]["purged_at"] and opened["history"][0]["summary"] == ""
    assert opened["tickets"][0]["purged_at"] and opened["tickets"][0]["text"] == ""
    await li.send(type="note", chat=chat, text="one more")
    assert (await li.expect("error"))["code"] == "purged"
    await li.send(type="search", query=MARK)
    found = await li.expect("search")
    assert found["chats"] == [] and found["tickets"] == []
    await li.close()
    assert "Traceback" not in server.log.read_text()


@pytest.mark.timeout(600)
async def test_the_server_purges_on_its_own(start_server, ws_client):
    """With a retention of 3 s the running server purges a finished conversation by itself (in a
    thread): another visitor's pings are answered at once meanwhile, a new visitor is answered
    after, and the first visitor's token starts afresh."""
    server = start_server(CHAT_RETENTION_S="3", CHAT_SESSION_TTL_S="3",
                            CHAT_PURGE_INTERVAL_S="0.5")
    async with ws_client(server.ws_url) as visitor:
        token = (await visitor.hello(lang="en"))["session"]
        await visitor.ask(f"{MARK} how long can I stay visa-free?", "m1")
        await visitor.send({"type": "rating", "score": 3, "comment": f"{MARK} ok"})
        await visitor.until(lambda f: f["type"] == "rated")
    async with ws_client(server.ws_url) as pinger:  # a visitor's socket stays as quick as ever
        await pinger.hello(lang="en")
        deadline, slowest = time.monotonic() + 30, 0.0
        while MARK.encode() in file_bytes(server.data_dir):
            assert time.monotonic() < deadline, "not purged"
            started = time.perf_counter()
            # A websocket ping, not the app's: the pinger's own conversation may be old enough
            # to be purged too while a loaded machine purges slowly, and then it is detached.
            await asyncio.wait_for(await pinger.ws.ping(), 10)
            slowest = max(slowest, time.perf_counter() - started)
            await asyncio.sleep(0.1)
        assert slowest < 1.0
    async with ws_client(server.ws_url) as other:
        await other.hello(lang="en")
        assert (await other.ask("What is the 240-hour visa-free transit?", "o1"))["from"] == "bot"
    assert read_db(server, "SELECT score, comment FROM ratings") == [(3, None)]
    async with ws_client(server.ws_url) as back:
        await back.send({"type": "hello", "session": token, "last_seq": 0, "channel": "web"})
        assert (await back.recv())["code"] == "unknown_session"
        assert (await back.until(lambda f: f["type"] == "welcome"))["session"] != token
    log = server.log.read_text()
    assert '"message": "retention purge"' in log and "Traceback" not in log
