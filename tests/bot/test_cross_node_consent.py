"""Consent across two server processes on one PostgreSQL database: the visitor writes to a
person from node A, the agent's console is on node B. Consent given to the agent there (after
none was asked) shows the visitor's numbers in full on B; withdrawn, the console on B re-masks
what it already shows (the open chat's transcript), not only the messages that follow."""

from __future__ import annotations

import json

import pytest

from tests.bot.test_cross_node import claimed_chat, nodes  # noqa: F401  (the two-node fixture)
from tests.handoff.helpers import AgentClient

pytestmark = pytest.mark.timeout(120)

PASSPORT, BIRTH = "XA1234567", "1988-04-12"  # demo data


async def visitor_line(agent: AgentClient, chat: int, text: str) -> dict:
    """The visitor's line ``text`` as the console shows it live (``text`` as written or masked:
    only its start is compared)."""
    while True:
        frame = await agent.expect("event", chat=chat)
        event = frame["event"]
        if event.get("type") == "visitor" and event["text"][:8] == text[:8]:
            return event


async def test_a_grant_on_node_a_unmasks_and_a_withdrawal_remasks_the_console_on_node_b(
        nodes, ws_client):  # noqa: F811
    a, _, agent = nodes
    async with ws_client(a.ws_url) as visitor:
        chat = await claimed_chat(visitor, a, agent)
        written = f"My passport is {PASSPORT}, born {BIRTH}"
        await visitor.send({"type": "message", "id": "c1", "text": written})
        assert PASSPORT not in (await visitor_line(agent, chat, written))["text"]  # not asked yet
        await visitor.send({"type": "message", "id": "c2",
                            "text": "You can show my details to the agent"})
        told = await visitor.until(lambda f: f["type"] == "reply"
                                   and f["meta"].get("kind") == "consent")
        assert told["meta"]["agreed"] is True and "in full" in told["text"]
        opened = await agent.expect("chat", timeout=30)  # sent again, unmasked
        said = json.dumps(opened["transcript"], ensure_ascii=False)
        assert PASSPORT in said and BIRTH in said and opened["chat"]["consent"] is True
        await visitor.send({"type": "message", "id": "c3", "text": "唔好俾客服睇我嘅資料"})
        told = await visitor.until(lambda f: f["type"] == "reply" and f["seq"] > told["seq"]
                                   and f["meta"].get("kind") == "consent")
        assert told["meta"]["agreed"] is False and told["lang"] == "zh"
        # The open chat on node B, sent again: what it showed in full is masked now.
        opened = await agent.expect("chat", timeout=30)
        said = json.dumps(opened["transcript"], ensure_ascii=False)
        assert PASSPORT not in said and BIRTH not in said and opened["chat"]["consent"] is False
        assert opened["chat"]["id"] == chat
