"""The store keeps numbered events, dedupes client ids, and expires tokens."""

import time

from bot.store import Store
from conversation.events import Reply, Stored, Visitor

TS = "2026-12-06T23:00:00Z"


def test_events_are_numbered_and_deduped(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    session, token = store.create_session(lang="zh", locked=True, channel="web")
    asked = Visitor(id="c1", text="你好")
    answered = Reply(sender="bot", text="您好", lang="zh", script="zh-Hans", sources=[],
                     quick_replies=[], meta={"kind": "answer"})
    a = store.append_event(session.id, asked, TS, client_id="c1")
    b = store.append_event(session.id, answered, TS)
    assert (a.seq, b.seq) == (1, 2)
    assert store.message_start(session.id, "c1") == (store.session(session.id),
                                                    Stored(asked, seq=1, ts=TS))
    assert store.message_start(session.id, "c2") == (store.session(session.id), None)
    assert store.message_start("nobody", "c1") is None
    # Read back typed, as stored, and in the same wire form (a replay sends what was sent).
    assert store.transcript(session.id) == [a, b]
    assert [e.to_wire() for e in store.transcript(session.id)] == store.conversations.events(session.id)
    assert [e.seq for e in store.transcript(session.id, 1)] == [2]
    assert store.session_by_token(token).id == session.id
    assert len(token) >= 43  # 32 random bytes, base64


def test_tokens_expire_and_are_stored_hashed(tmp_path):
    store = Store(tmp_path / "s.sqlite3", session_ttl_s=1)
    session, token = store.create_session(lang="zh", locked=False, channel="web")
    raw = (tmp_path / "s.sqlite3").read_bytes() + (tmp_path / "s.sqlite3-wal").read_bytes()
    assert token.encode() not in raw
    store.db.execute("UPDATE sessions SET last_seen = ?", (time.time() - 5,))
    assert store.session_by_token(token) is None


def test_transfer_token_is_single_use(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    session, _ = store.create_session(lang="zh", locked=False, channel="web")
    token = store.create_transfer(session.id, ttl_s=60)
    assert store.consume_transfer(token) == session.id
    assert store.consume_transfer(token) is None
    expired = store.create_transfer(session.id, ttl_s=-1)
    assert store.consume_transfer(expired) is None
