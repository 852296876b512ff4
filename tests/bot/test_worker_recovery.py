"""A model worker that dies (the kernel's OOM killer, a crash in a native library) takes no
node down with it: the server starts a new worker, says it is not ready while the models load,
and the visitor's next message gets a real answer."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import urllib.error
import urllib.request

import psutil
import pytest

from bot.texts import TEXTS

FAILURE = {TEXTS["failure"][lang] for lang in ("en", "zh")}


def model_workers(pid: int) -> list[psutil.Process]:
    """The server's model workers: its spawned children that are not multiprocessing's
    resource tracker."""
    workers = []
    for child in psutil.Process(pid).children():
        with contextlib.suppress(psutil.NoSuchProcess):  # a killed worker reaped meanwhile
            if "spawn_main" in " ".join(child.cmdline()):
                workers.append(child)
    return workers


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


async def test_a_killed_model_worker_is_replaced_and_the_next_message_answered(server, ws_client):
    [worker] = model_workers(server.proc.pid)
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    await asyncio.sleep(0.2)  # a visitor who comes just after: the node has seen the death
    async with ws_client(server.ws_url) as visitor:
        await visitor.hello(lang="en")
        reply = await visitor.ask("My visa expires next week. How do I extend it?", "m1", timeout=90)
        assert reply["text"] not in FAILURE and "extension" in reply["text"].lower()
    [replacement] = model_workers(server.proc.pid)
    assert replacement.pid != worker.pid
    assert status(f"{server.url}/readyz") == 200


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_a_worker_killed_mid_message_costs_only_the_messages_the_pool_held(
        start_server, ws_client, workers):
    """The message a dying worker was answering gets an apology (it may have done part of its
    work, so it is not run twice); every later one is answered."""
    server = start_server(CHAT_MODEL_WORKERS=workers)
    async with ws_client(server.ws_url) as visitor:
        await visitor.hello(lang="en")
        await visitor.send({"type": "message", "id": "m1", "text": "How do I extend my visa?"})
        for worker in model_workers(server.proc.pid):
            worker.send_signal(signal.SIGKILL)
        ack = await visitor.until(lambda f: f["type"] == "ack" and f["id"] == "m1")
        first = await visitor.until(lambda f: f["type"] == "reply" and f["seq"] > ack["seq"], 90)
        assert first["from"] == "bot" and first["text"]
        answers = [await visitor.ask(q, f"n{i}", timeout=90) for i, q in enumerate(
            ("How do I extend my visa?", "What is the fine for overstaying?"))]
        assert all(a["text"] not in FAILURE for a in answers), (first, answers)


async def test_readiness_says_so_while_a_replacement_worker_loads(server):
    [worker] = model_workers(server.proc.pid)
    worker.send_signal(signal.SIGKILL)
    seen: list[int] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        seen.append(status(f"{server.url}/readyz"))
        if seen[-1] == 503 and len(model_workers(server.proc.pid)) == 1:
            break
        await asyncio.sleep(0.05)
    assert 503 in seen
    while status(f"{server.url}/readyz") != 200 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert status(f"{server.url}/readyz") == 200
    _, metrics, _ = server.get("/metrics")
    assert "chat_model_workers_lost_total 1.0" in metrics


async def test_a_hung_model_worker_costs_one_apology_within_the_time_limit(start_server, ws_client):
    """A worker stuck in native code (here: stopped with SIGSTOP) answers nothing: the visitor
    gets the apology when the turn's time is up, the worker is killed and replaced, and the next
    message is answered."""
    # The limit also applies to the next message, the new worker's first: room for a busy machine.
    server = start_server(CHAT_TURN_TIMEOUT_S="5")
    [worker] = model_workers(server.proc.pid)
    worker.suspend()
    async with ws_client(server.ws_url) as visitor:
        await visitor.hello(lang="en")
        started = time.monotonic()
        reply = await visitor.ask("How do I extend my visa?", "m1", timeout=30)
        assert reply["text"] in FAILURE and 5 <= time.monotonic() - started < 20
        reply = await visitor.ask("How do I extend my visa?", "m2", timeout=90)
        assert reply["text"] not in FAILURE and "extension" in reply["text"].lower()
    assert not worker.is_running()
