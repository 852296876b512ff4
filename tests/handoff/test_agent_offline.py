"""An agent whose console disconnects: a quick reload keeps the chats; staying away past the
grace period puts the visitor back at the front of the queue, where the next agent takes over."""

from __future__ import annotations

import pytest

from tests.handoff.helpers import AgentClient, add_agent
from tests.handoff.test_server_handoff import chat_id_in, escalate_en, is_state

pytestmark = pytest.mark.timeout(600)


async def test_chats_of_an_agent_who_stays_offline_go_back_to_the_queue(start_server, ws_client):
    # No model is needed: the stand-in pipeline hands "Talk to a person" over as the real one does.
    server = start_server(stand_in=True, CHAT_AGENT_RECONNECT_GRACE_S="10")
    add_agent(server.data_dir, "amy", name="Amy", queues="*", langs="zh,en")
    add_agent(server.data_dir, "bo", name="Bo", queues="*", langs="zh,en")
    amy = await AgentClient.open(server.agent_ws_url)
    login = await amy.login("amy")
    async with ws_client(server.ws_url) as visitor:
        await visitor.hello(lang="en")
        await escalate_en(visitor)
        cid = await chat_id_in(amy)
        await amy.send(type="claim", chat=cid)
        await amy.expect("chat")
        await visitor.until(is_state("agent"))

        # A reload within the grace period: the chat is still Amy's.
        await amy.close()
        amy = await AgentClient.open(server.agent_ws_url)
        await amy.send(type="auth", token=login["token"])
        await amy.expect("auth_ok")
        assert (await amy.expect("chat"))["chat"]["id"] == cid

        # Gone for good: the visitor is told and queued first; Bo, who logs in, gets the chat.
        await amy.close()
        notice = await visitor.until(lambda f: f["type"] == "reply" and f["from"] == "system"
                                     and "lost their connection" in f["text"], timeout=30)
        assert notice["lang"] == "en"
        queued = await visitor.until(is_state("queued"), timeout=10)
        assert queued["position"] == 1
        bo = await AgentClient.open(server.agent_ws_url)
        await bo.login("bo")
        assert cid == await chat_id_in(bo)
        await bo.send(type="claim", chat=cid)
        transcript = (await bo.expect("chat"))["chat"]
        assert transcript["id"] == cid
        await visitor.until(is_state("agent", agent="Bo"))
        await bo.close()
