"""The server on PostgreSQL (``CHAT_DATABASE_URL``), in process without the models: what a
visitor sends is stored in the database the URL names, none in the data directory, and a
reconnect resumes from it."""

from __future__ import annotations

from storage.backends import open_database


async def test_a_visitor_on_postgres_resumes_from_what_was_stored_there(postgres_url, start_server,
                                                                        ws_client):
    # postgres_url first: its database is dropped after the server (and its purge) stopped.
    server = start_server(in_process=True, CHAT_DATABASE_URL=postgres_url)
    async with ws_client(server.ws_url) as c:
        token = (await c.hello(lang="en"))["session"]
        for i in range(3):
            await c.send({"type": "message", "id": f"m{i}", "text": f"question {i}"})
            await c.until(lambda f: f["type"] == "ack")
    async with ws_client(server.ws_url) as c:
        welcome = await c.hello(session=token, last_seq=0)
        assert welcome["session"] != token  # a new token each resume: a copy stops working
        history = [await c.recv() for _ in range(welcome["last_seq"])]
    assert [f["text"] for f in history if f["type"] == "visitor"] == [f"question {i}" for i in range(3)]

    db = open_database(postgres_url)
    assert db.value("SELECT count(*) FROM events WHERE type = 'visitor'") == 3
    db.close()
    assert not (server.data_dir / "chat.sqlite3").exists()


async def test_a_follow_up_after_a_reconnect_on_postgres_keeps_the_conversations_thread(
        postgres_url, start_server, ws_client):
    """The topic a follow-up leans on and the chat's script live in the context stored in the
    database: a visitor who reconnects mid-conversation is answered on the same thread."""
    server = start_server(CHAT_DATABASE_URL=postgres_url)
    async with ws_client(server.ws_url) as c:
        token = (await c.hello(page_lang="zh"))["session"]
        await c.until(lambda f: f["type"] == "reply")
        await c.ask("我丈夫是外國人，想申請永久居留，結婚要滿多少年？", "p1")
        await c.ask("每年要住多久？", "p2")
    async with ws_client(server.ws_url) as c:
        welcome = await c.hello(session=token, last_seq=0)
        [await c.recv() for _ in range(welcome["last_seq"])]
        most = await c.ask("最多呢？", "p3")  # no character of one script only
        fee = await c.ask("費用呢？", "p4")  # permanent residence's fee, not a visa extension's
    assert most["script"] == "zh-Hant", most
    assert fee["meta"]["kind"] == "answer" and "1500" in fee["text"], fee
