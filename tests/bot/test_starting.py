"""After a (re)start, while the models load, a visitor is told an answer is coming: `welcome`
carries `starting: true`, a message gets the bot's typing indicator at once, `{"type":"ready"}`
follows when the models are loaded, and then the answer."""

from __future__ import annotations

import time
import urllib.request

import pytest

from tests.conftest import InProcessServer

pytestmark = pytest.mark.timeout(600)


def status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


async def test_a_visitor_during_model_loading_sees_an_answer_is_coming(start_server, ws_client):
    proc = start_server(wait=False)  # connect while the models load
    deadline = time.monotonic() + 60
    while status(f"{proc.url}/healthz") != 200:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    if status(f"{proc.url}/readyz") == 200:
        pytest.skip("the models loaded before the test could connect")
    async with ws_client(proc.ws_url) as visitor:
        welcome = await visitor.hello(lang="en")
        assert welcome.get("starting") is True
        await visitor.send({"type": "message", "id": "s1", "text": "How do I extend my visa?"})
        ack = await visitor.until(lambda f: f["type"] == "ack", timeout=60)
        typing = await visitor.until(lambda f: f["type"] in ("typing", "ready"), timeout=120)
        assert typing == {"type": "typing", "from": "bot", "on": True}
        await visitor.until(lambda f: f["type"] == "ready", timeout=300)
        reply = await visitor.until(lambda f: f["type"] == "reply" and f["seq"] > ack["seq"], timeout=120)
        assert reply["from"] == "bot"
    async with ws_client(proc.ws_url) as later:
        assert "starting" not in await later.hello(lang="en")


async def test_a_stop_while_the_models_load_is_prompt_and_the_message_is_answered_after(
        tmp_path, ws_client):
    """SIGTERM before the models are loaded does not wait for turns that cannot run: the
    server stops at once, and the visitor's stored message is answered after the restart."""
    data_dir = tmp_path / "data"
    loading = InProcessServer(data_dir).start()  # no models: they never finish loading
    async with ws_client(loading.ws_url) as visitor:
        token = (await visitor.hello(lang="en"))["session"]
        await visitor.send({"type": "message", "id": "s1", "text": "How do I extend my visa?"})
        await visitor.until(lambda f: f["type"] == "ack")
    started = time.monotonic()
    loading.stop()
    assert time.monotonic() - started < 5
    restarted = InProcessServer(data_dir, stand_in=True).start()
    try:
        async with ws_client(restarted.ws_url) as visitor:
            await visitor.hello(session=token, last_seq=0)
            reply = await visitor.until(lambda f: f["type"] == "reply" and f["from"] == "bot")
            assert reply["text"]
    finally:
        restarted.stop()
