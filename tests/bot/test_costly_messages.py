"""Messages built to be slow: each costs a model worker about what any long message costs, so a
visitor sending them cannot hold the workers, and the other visitors are answered meanwhile.

Before: "visa" or "passport" followed by 2,000 spaces kept a worker for minutes (the entity
patterns tried every split of the spaces between three whitespace runs), and 2,000 characters of
"!?" or of emoji cost 0.6 s each (spaCy's suffix search, quadratic in a run's length)."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conftest import WsClient

MAX_CHARS = 2000  # the protocol's limit on a message
BUILT_TO_BE_SLOW = [
    "visa" + " " * (MAX_CHARS - 5) + "x",
    "my passport" + " " * (MAX_CHARS - 12) + "x",
    "受理编号" + "\t" * (MAX_CHARS - 5) + "x",
    "!?" * (MAX_CHARS // 2),
    "😀" * MAX_CHARS,
    "check" + "," * (MAX_CHARS - 5),
    "I can wait 3" + " " * (MAX_CHARS - 14) + "x",
]
# Far above what each of these costs now (tens of milliseconds) and far below what they cost
# before (minutes for the first two): generous for a busy test machine.
PROMPTLY_S = 15


@pytest.fixture(scope="module")
def srv(start_module_server):
    return start_module_server()


async def test_each_message_built_to_be_slow_is_answered_promptly(srv, ws_client):
    async with ws_client(srv.ws_url) as visitor:
        await visitor.hello(lang="en")
        for i, text in enumerate(BUILT_TO_BE_SLOW):
            started = time.monotonic()
            reply = await visitor.ask(text, f"slow{i}", timeout=PROMPTLY_S)
            assert reply["text"], text[:20]
            assert time.monotonic() - started < PROMPTLY_S


async def test_a_visitor_is_answered_while_another_sends_messages_built_to_be_slow(srv, ws_client):
    async def attack(client: WsClient, rounds: int) -> None:
        for i in range(rounds):
            for j, text in enumerate(BUILT_TO_BE_SLOW):
                await client.ask(text, f"a{i}-{j}", timeout=60)

    async with ws_client(srv.ws_url) as attacker, ws_client(srv.ws_url) as bystander:
        await attacker.hello(lang="en")
        await bystander.hello(lang="en")
        attacking = asyncio.create_task(attack(attacker, 3))
        await asyncio.sleep(0.5)
        started = time.monotonic()
        reply = await bystander.ask("How do I extend my visa?", "b1", timeout=PROMPTLY_S)
        assert "extension" in reply["text"].lower()
        assert time.monotonic() - started < PROMPTLY_S
        await attacking  # and every one of the attacker's messages was answered
