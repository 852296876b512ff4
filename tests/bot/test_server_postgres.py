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
