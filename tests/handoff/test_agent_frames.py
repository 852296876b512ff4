"""The wire form of every frame the server sends to agent consoles (docs/protocol.md, "Agent
protocol"): the keys, their order, their values, and which optional fields are left out."""

import json

import pytest

from handoff import agent_frames as af
from runtime.frames import Error, Frame, Pong

CHAT = {"id": 7, "status": "queued", "queue": "exit-entry:shenzhen"}
AGENT = {"username": "li", "name": "李明", "role": "agent"}
QUEUE = {"id": "nia-service-center", "zh": "国家移民管理局移民服务中心", "en": "NIA", "kind": "service_center"}

CASES = [
    (af.AuthOk(token="t" * 43, expires_at=1795000000.0, agent=AGENT, all_queues=[QUEUE], hotline="12367"),
     {"type": "auth_ok", "token": "t" * 43, "expires_at": 1795000000.0, "agent": AGENT,
      "all_queues": [QUEUE], "hotline": "12367"}),
    (af.AuthOk(agent=AGENT, all_queues=[], hotline="12367"),
     {"type": "auth_ok", "agent": AGENT, "all_queues": [], "hotline": "12367"}),
    (af.LoggedOut(), {"type": "logged_out"}),
    (af.Canned(replies=[{"id": "greeting", "zh": "您好", "en": "Hello"}]),
     {"type": "canned", "replies": [{"id": "greeting", "zh": "您好", "en": "Hello"}]}),
    (af.Tickets(tickets=[{"id": 3}]), {"type": "tickets", "tickets": [{"id": 3}]}),
    (af.Tickets(status="all", tickets=[]), {"type": "tickets", "status": "all", "tickets": []}),
    (af.TicketDone(ticket=3), {"type": "ticket_done", "ticket": 3}),
    (af.OpenChat(chat=CHAT, notes=[], history=[], tickets=[], transcript=[{"type": "visitor", "seq": 1}]),
     {"type": "chat", "chat": CHAT, "notes": [], "history": [], "tickets": [],
      "transcript": [{"type": "visitor", "seq": 1}]}),
    (af.Queues(now=1.5, queues=[{**QUEUE, "waiting": [CHAT]}], mine=[], accepting=False, online_agents=[]),
     {"type": "queues", "now": 1.5, "queues": [{**QUEUE, "waiting": [CHAT]}], "mine": [], "accepting": False,
      "online_agents": []}),
    (af.QueuesDelta(now=2.5, upsert=[CHAT], remove=[8], accepting=True, online_agents=[AGENT]),
     {"type": "queues_delta", "now": 2.5, "upsert": [CHAT], "remove": [8], "accepting": True,
      "online_agents": [AGENT]}),
    (af.Overview(now=3.0, queues=[{"id": "q", "waiting": 2}], agents=[AGENT]),
     {"type": "overview", "now": 3.0, "queues": [{"id": "q", "waiting": 2}], "agents": [AGENT]}),
    (af.Event(chat=7, event={"type": "visitor", "seq": 9, "text": "hi"}),
     {"type": "event", "chat": 7, "event": {"type": "visitor", "seq": 9, "text": "hi"}}),
    (af.Typing(chat=7, on=True), {"type": "typing", "chat": 7, "on": True}),
    (af.Released(chat=7, reason="transferred"), {"type": "released", "chat": 7, "reason": "transferred"}),
    (af.Sent(chat=7, id="a-1", seq=12), {"type": "sent", "chat": 7, "id": "a-1", "seq": 12}),
    (af.Sent(chat=7, id=None, seq=12), {"type": "sent", "chat": 7, "id": None, "seq": 12}),
    (af.Assist(chat=7, query="visa", lang="en", script="en", answers=[{"entry_id": "e", "score": 0.8}]),
     {"type": "assist", "chat": 7, "query": "visa", "lang": "en", "script": "en",
      "answers": [{"entry_id": "e", "score": 0.8}]}),
    (af.Notes(chat=7, notes=[{"author": "li", "kind": "note", "text": "x"}]),
     {"type": "notes", "chat": 7, "notes": [{"author": "li", "kind": "note", "text": "x"}]}),
    (af.SearchResults(query="签证", chats=[CHAT], tickets=[]),
     {"type": "search", "query": "签证", "chats": [CHAT], "tickets": []}),
    (Pong(), {"type": "pong"}),
    (Error(code="not_owner", message="This chat belongs to another agent.", field="chat"),
     {"type": "error", "code": "not_owner", "message": "This chat belongs to another agent.", "field": "chat"}),
    (Error(code="locked", message="Too many failed logins.", retry_after=2.0),
     {"type": "error", "code": "locked", "message": "Too many failed logins.", "retry_after": 2.0}),
]


@pytest.mark.parametrize("frame,wire", CASES, ids=lambda c: getattr(c, "type", None))
def test_wire_form(frame, wire):
    out = frame.to_wire()
    assert out == wire
    assert list(out) == list(wire)  # the same key order
    assert json.loads(json.dumps(out)) == wire  # plain JSON values only


def test_every_agent_frame_is_in_the_table():
    tested = {type(frame) for frame, _ in CASES}
    defined = {cls for cls in vars(af).values()
               if isinstance(cls, type) and issubclass(cls, Frame) and cls is not Frame}
    assert defined <= tested


def test_frames_are_frozen():
    frame = af.Released(chat=7, reason="resolved")
    with pytest.raises(AttributeError):
        frame.chat = 8  # type: ignore[misc]
